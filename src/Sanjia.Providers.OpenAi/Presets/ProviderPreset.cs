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
    PresetQuirks Quirks);

/// <summary>What a vendor does differently from OpenAI, enforced before a request leaves the gateway.</summary>
public sealed record PresetQuirks(
    double? MinTemperature = null, double? MaxTemperature = null, bool TemperatureExclusiveMin = false,
    bool SupportsN = true, bool SupportsStreamUsage = true, string? AuthHeader = null,
    IReadOnlyDictionary<string, string>? ExtraHeaders = null, string? AnthropicBaseUrl = null, string? Notes = null)
{
    public static readonly PresetQuirks None = new();
}
