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
}

public sealed class UnpricedEntry
{
    [JsonPropertyName("provider")] public string Provider { get; set; } = "";
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "chat";
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
}

public sealed class CatalogueEntry
{
    [JsonPropertyName("provider")] public string Provider { get; set; } = "";
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("currency")] public string Currency { get; set; } = "USD";
    [JsonPropertyName("input")] public decimal Input { get; set; }
    [JsonPropertyName("cached_input")] public decimal? CachedInput { get; set; }
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

    public ModelPrice ToPrice(string source) => new()
    {
        Currency = Currency.ToUpperInvariant(),
        InputPerMTok = Input,
        CachedInputPerMTok = CachedInput,
        OutputPerMTok = Output,
        ReasoningPerMTok = Reasoning,
        ThinkingOutputPerMTok = ThinkingOutput,
        OffPeak = PriceRules.OffPeak(OffPeak),
        Tiers = PriceRules.Tiers(Tiers),
        ContextWindow = ContextWindow,
        MaxOutputTokens = MaxOutputTokens,
        Checked = DateOnly.TryParse(Checked, CultureInfo.InvariantCulture, out var d) ? d : null,
        Source = source,
    };
}

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CatalogueFile))]
internal sealed partial class CatalogueJson : JsonSerializerContext;
