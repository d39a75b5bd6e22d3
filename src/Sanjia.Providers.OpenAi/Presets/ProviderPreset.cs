namespace Sanjia.Providers.OpenAi.Presets;

/// <summary>
/// A vendor's OpenAI-compatible endpoint as documented by the vendor (sources in docs/providers.md). A preset
/// supplies defaults; any field can be overridden under <c>Sanjia:Providers:&lt;name&gt;</c>.
/// </summary>
public sealed record ProviderPreset(
    string Name,
    string DisplayName,
    string BaseUrl,
    string? ApiKeyEnv,
    string[] ChatModels,
    string[] EmbeddingModels,
    string Currency,
    PresetQuirks Quirks)
{
    /// <summary>Image models of the vendor's OpenAI-compatible <c>images/generations</c> API (docs/images.md lists the sources).</summary>
    public string[] ImageModels { get; init; } = [];
}

/// <summary>
/// What a vendor does differently from OpenAI, enforced before a request leaves the gateway. For presets the sampling
/// facts (temperature range, fixed sampling, <c>n</c>, stream usage, output cap) come from the catalogue's
/// <c>quirks</c> (<see cref="CatalogueQuirks"/>); the endpoint facts (headers, Anthropic base URL) are kept here.
/// </summary>
public sealed record PresetQuirks(
    double? MinTemperature = null, double? MaxTemperature = null, bool TemperatureExclusiveMin = false,
    bool SupportsN = true, bool SupportsStreamUsage = true, string? AuthHeader = null,
    IReadOnlyDictionary<string, string>? ExtraHeaders = null, string? AnthropicBaseUrl = null, string? Notes = null)
{
    public static readonly PresetQuirks None = new();

    /// <summary>Models (by upstream id, case-insensitive) whose sampling the vendor fixes; null when none.</summary>
    public IReadOnlyDictionary<string, FixedSampling>? FixedSampling { get; init; }

    /// <summary>The vendor's documented cap on output tokens for the whole endpoint (documented, not enforced).</summary>
    public int? MaxOutputTokens { get; init; }
}

/// <summary>The only temperatures (one per thinking mode) and <c>n</c> a vendor accepts on a model.</summary>
public sealed record FixedSampling(IReadOnlyList<double> Temperatures, int? N);
