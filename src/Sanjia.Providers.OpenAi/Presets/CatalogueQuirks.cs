using Sanjia.Core.Pricing;

namespace Sanjia.Providers.OpenAi.Presets;

/// <summary>
/// The presets' sampling quirks as the catalogue (catalogue.json, <c>quirks</c>) documents them, each with its
/// source: one place for the vendors' facts, next to their prices, instead of numbers spread through code.
/// </summary>
public static class CatalogueQuirks
{
    private static readonly CatalogueFile Catalogue = PriceCatalogue.ReadBuiltIn();

    /// <summary>The preset's quirks: the catalogue's facts on top of the endpoint facts (<paramref name="endpoint"/>) kept in code.</summary>
    public static PresetQuirks For(string preset, PresetQuirks endpoint) =>
        Catalogue.QuirksFor(preset) is { } q ? Apply(q, endpoint) : endpoint;

    public static PresetQuirks Apply(QuirksEntry q, PresetQuirks endpoint)
    {
        Dictionary<string, FixedSampling>? fixedSampling = null;
        foreach (var f in q.FixedSampling ?? [])
        {
            fixedSampling ??= new Dictionary<string, FixedSampling>(StringComparer.OrdinalIgnoreCase);
            foreach (var model in f.Models)
            {
                fixedSampling[model] = new FixedSampling([.. f.Temperatures], f.N);
            }
        }
        return endpoint with
        {
            MinTemperature = q.Temperature?.Min ?? endpoint.MinTemperature,
            MaxTemperature = q.Temperature?.Max ?? endpoint.MaxTemperature,
            TemperatureExclusiveMin = q.Temperature?.ExclusiveMin ?? endpoint.TemperatureExclusiveMin,
            SupportsN = q.N?.Supported ?? endpoint.SupportsN,
            SupportsStreamUsage = q.StreamUsage?.Supported ?? endpoint.SupportsStreamUsage,
            FixedSampling = fixedSampling ?? endpoint.FixedSampling,
            MaxOutputTokens = q.MaxOutputTokens?.Value ?? endpoint.MaxOutputTokens,
        };
    }
}
