using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Pricing;

/// <summary>
/// Prices by <c>provider/model</c>. The project's own catalogue (catalogue.json, embedded) is the base; an imported
/// file and configuration overrides are layered on top. Lookups are case-insensitive.
/// </summary>
public sealed class PriceCatalogue
{
    private readonly Dictionary<string, ModelPrice> _prices = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, ModelPrice> Entries => _prices;

    public static PriceCatalogue LoadBuiltIn()
    {
        var catalogue = new PriceCatalogue();
        catalogue.AddAll(ReadBuiltIn(), "catalogue");
        ImagePrices.AddBuiltIn(catalogue);
        return catalogue;
    }

    /// <summary>The shipped catalogue file as written (prices and the knowingly unpriced list).</summary>
    public static CatalogueFile ReadBuiltIn()
    {
        using var stream = typeof(PriceCatalogue).Assembly.GetManifestResourceStream("Sanjia.Core.Pricing.catalogue.json")
            ?? throw new InvalidOperationException("The built-in price catalogue is missing from Sanjia.Core.");
        return Read(stream);
    }

    public ModelPrice? Find(string provider, string model) =>
        _prices.TryGetValue(provider + "/" + model, out var p) ? p : null;

    public void Set(string provider, string model, ModelPrice price) => _prices[provider + "/" + model] = price;

    public void AddAll(CatalogueFile file, string source)
    {
        foreach (var e in file.Models)
        {
            Set(e.Provider, e.Model, e.ToPrice(source));
        }
    }

    public static CatalogueFile Read(Stream stream) =>
        JsonSerializer.Deserialize(stream, CatalogueJson.Default.CatalogueFile) ?? new CatalogueFile();

    public static CatalogueFile ReadFile(string path)
    {
        using var s = File.OpenRead(path);
        return Read(s);
    }

    /// <summary>A catalogue date (<c>checked</c>, <c>retired</c>: yyyy-MM-dd), or null when absent or unreadable.</summary>
    public static DateOnly? ParseDate(string? text) =>
        DateOnly.TryParse(text, CultureInfo.InvariantCulture, out var d) ? d : null;

    public static void Write(CatalogueFile file, Stream stream) => JsonSerializer.Serialize(stream, file, CatalogueJson.Default.CatalogueFile);
}

/// <summary>The catalogue's file format (also what the importer writes).</summary>
public sealed class CatalogueFile
{
    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    [JsonPropertyName("note")] public string? Note { get; set; }
    [JsonPropertyName("models")] public List<CatalogueEntry> Models { get; set; } = [];

    /// <summary>Preset models knowingly left unpriced (no vendor-published price found), with the reason.</summary>
    [JsonPropertyName("unpriced")] public List<UnpricedEntry>? Unpriced { get; set; }

    /// <summary>
    /// What each vendor does differently from OpenAI (sampling ranges, fixed sampling, <c>n</c>, stream usage, output
    /// caps), each fact with its source; the presets read these instead of carrying them in code.
    /// </summary>
    [JsonPropertyName("quirks")] public List<QuirksEntry>? Quirks { get; set; }

    /// <summary>
    /// Entries (prices, knowingly unpriced models, quirks) last checked against their source before
    /// <paramref name="asOf"/> minus <paramref name="maxAgeDays"/>, or never: the ones to re-read. Oldest first.
    /// </summary>
    public IReadOnlyList<CheckedEntry> StaleEntries(DateOnly asOf, int maxAgeDays)
    {
        var cutoff = asOf.AddDays(-maxAgeDays);
        return [.. CheckedEntries().Where(e => e.Checked is not { } d || d < cutoff).OrderBy(e => e.Checked ?? DateOnly.MinValue).ThenBy(e => e.Id, StringComparer.Ordinal)];
    }

    /// <summary>Every entry that carries a check date, named as <c>provider/model</c> (quirks as <c>quirks:provider,…</c>).</summary>
    public IEnumerable<CheckedEntry> CheckedEntries() =>
        Models.Select(m => new CheckedEntry(m.Provider + "/" + m.Model, PriceCatalogue.ParseDate(m.Checked), m.Source))
            .Concat((Unpriced ?? []).Select(u => new CheckedEntry(u.Provider + "/" + u.Model + " (unpriced)", PriceCatalogue.ParseDate(u.Checked), u.Source)))
            .Concat((Quirks ?? []).Select(q => new CheckedEntry("quirks:" + string.Join(",", q.Providers), PriceCatalogue.ParseDate(q.Checked), null)));

    /// <summary>The quirks entry that names this preset, or null.</summary>
    public QuirksEntry? QuirksFor(string provider) =>
        Quirks?.Find(q => q.Providers.Contains(provider, StringComparer.OrdinalIgnoreCase));
}

/// <summary>One catalogue entry and the day it was last checked against <see cref="Source"/> (null: never).</summary>
public sealed record CheckedEntry(string Id, DateOnly? Checked, string? Source);

public sealed class UnpricedEntry
{
    [JsonPropertyName("provider")] public string Provider { get; set; } = "";
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "chat";
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
    /// <summary>When the model was found listed by the vendor (its page), and where.</summary>
    [JsonPropertyName("checked")] public string? Checked { get; set; }
    [JsonPropertyName("source")] public string? Source { get; set; }
    /// <summary>False when the model itself is known only from third parties (no vendor page lists it).</summary>
    [JsonPropertyName("verified")] public bool? Verified { get; set; }
    [JsonPropertyName("retired")] public string? Retired { get; set; }
    [JsonPropertyName("retired_source")] public string? RetiredSource { get; set; }
}

public sealed class CatalogueEntry
{
    [JsonPropertyName("provider")] public string Provider { get; set; } = "";
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("currency")] public string Currency { get; set; } = "USD";
    [JsonPropertyName("input")] public decimal Input { get; set; }
    [JsonPropertyName("cached_input")] public decimal? CachedInput { get; set; }
    /// <summary>Input written to the vendor's prompt cache (Anthropic, MiniMax); absent = the input price.</summary>
    [JsonPropertyName("cache_write")] public decimal? CacheWrite { get; set; }
    [JsonPropertyName("output")] public decimal Output { get; set; }
    [JsonPropertyName("reasoning")] public decimal? Reasoning { get; set; }
    [JsonPropertyName("thinking_output")] public decimal? ThinkingOutput { get; set; }
    [JsonPropertyName("tiers")] public List<PriceTierOptions>? Tiers { get; set; }
    [JsonPropertyName("off_peak")] public OffPeakOptions? OffPeak { get; set; }
    [JsonPropertyName("context_window")] public int? ContextWindow { get; set; }
    [JsonPropertyName("max_output_tokens")] public int? MaxOutputTokens { get; set; }
    [JsonPropertyName("checked")] public string? Checked { get; set; }
    [JsonPropertyName("source")] public string? Source { get; set; }
    /// <summary>How the figure was read (units converted, tier reading, what the page calls the model).</summary>
    [JsonPropertyName("note")] public string? Note { get; set; }
    /// <summary>
    /// False when no vendor page confirms the figures, only third parties (named in <c>source</c>); the price is kept
    /// and marked, never silently trusted. Absent means read from the vendor's own page.
    /// </summary>
    [JsonPropertyName("verified")] public bool? Verified { get; set; }
    /// <summary>
    /// The day the vendor stops (or stopped) serving the model. Retired entries stay priced for older ledger rows;
    /// presets no longer list them.
    /// </summary>
    [JsonPropertyName("retired")] public string? Retired { get; set; }
    /// <summary>Where the retirement was read, when not on the price page.</summary>
    [JsonPropertyName("retired_source")] public string? RetiredSource { get; set; }

    public ModelPrice ToPrice(string source) => new()
    {
        Currency = Currency.ToUpperInvariant(),
        InputPerMTok = Input,
        CachedInputPerMTok = CachedInput,
        CacheWritePerMTok = CacheWrite,
        OutputPerMTok = Output,
        ReasoningPerMTok = Reasoning,
        ThinkingOutputPerMTok = ThinkingOutput,
        OffPeak = PriceRules.OffPeak(OffPeak),
        Tiers = PriceRules.Tiers(Tiers),
        ContextWindow = ContextWindow,
        MaxOutputTokens = MaxOutputTokens,
        Checked = PriceCatalogue.ParseDate(Checked),
        Verified = Verified ?? true,
        Retired = PriceCatalogue.ParseDate(Retired),
        Source = source,
    };
}

/// <summary>A vendor's quirks, shared by the presets it names (e.g. a vendor's global and China endpoints).</summary>
public sealed class QuirksEntry
{
    [JsonPropertyName("providers")] public List<string> Providers { get; set; } = [];
    /// <summary>The accepted temperature range; absent means OpenAI's [0, 2].</summary>
    [JsonPropertyName("temperature")] public TemperatureQuirk? Temperature { get; set; }
    /// <summary>Whether <c>n</c> &gt; 1 is accepted; absent means it is.</summary>
    [JsonPropertyName("n")] public SupportQuirk? N { get; set; }
    /// <summary>Whether <c>stream_options.include_usage</c> is accepted; absent means it is.</summary>
    [JsonPropertyName("stream_usage")] public SupportQuirk? StreamUsage { get; set; }
    /// <summary>The vendor's cap on output tokens for every model of this endpoint (per-model caps are on the prices).</summary>
    [JsonPropertyName("max_output_tokens")] public CapQuirk? MaxOutputTokens { get; set; }
    /// <summary>Models whose sampling parameters the vendor fixes.</summary>
    [JsonPropertyName("fixed_sampling")] public List<FixedSamplingQuirk>? FixedSampling { get; set; }
    [JsonPropertyName("checked")] public string? Checked { get; set; }
}

/// <summary>One documented fact: where it was read, and whether that was the vendor's own page.</summary>
public abstract class QuirkFact
{
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>False when only third parties state it (named in <c>source</c>).</summary>
    [JsonPropertyName("verified")] public bool? Verified { get; set; }
    [JsonPropertyName("note")] public string? Note { get; set; }
}

public sealed class TemperatureQuirk : QuirkFact
{
    [JsonPropertyName("min")] public double Min { get; set; }
    [JsonPropertyName("max")] public double Max { get; set; } = 2;
    /// <summary>True when the minimum itself is refused: the range is (min, max].</summary>
    [JsonPropertyName("exclusive_min")] public bool ExclusiveMin { get; set; }
}

public sealed class SupportQuirk : QuirkFact
{
    [JsonPropertyName("supported")] public bool Supported { get; set; } = true;
}

public sealed class CapQuirk : QuirkFact
{
    [JsonPropertyName("value")] public int Value { get; set; }
}

/// <summary>Models on which the vendor accepts only these temperatures (e.g. one per thinking mode) and only this <c>n</c>.</summary>
public sealed class FixedSamplingQuirk : QuirkFact
{
    [JsonPropertyName("models")] public List<string> Models { get; set; } = [];
    [JsonPropertyName("temperatures")] public List<double> Temperatures { get; set; } = [];
    [JsonPropertyName("n")] public int? N { get; set; }
}


[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CatalogueFile))]
internal sealed partial class CatalogueJson : JsonSerializerContext;
