using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Pricing;

/// <summary>
/// The shipped image prices (image-prices.json, embedded), read into the same catalogue as token prices: an image
/// model's <see cref="ModelPrice"/> carries its <see cref="ImagePrice"/>, so budgets, the ledger and configuration
/// overrides find it where they find every other price.
/// </summary>
public static class ImagePrices
{
    public static void AddBuiltIn(PriceCatalogue catalogue)
    {
        using var stream = typeof(ImagePrices).Assembly.GetManifestResourceStream("Sanjia.Core.Pricing.image-prices.json")
            ?? throw new InvalidOperationException("The built-in image prices are missing from Sanjia.Core.");
        foreach (var (provider, model, price) in Read(stream))
        {
            catalogue.Set(provider, model, price);
        }
    }

    public static IReadOnlyList<(string Provider, string Model, ModelPrice Price)> Read(Stream stream)
    {
        using var doc = JsonDocument.Parse(stream);
        var list = new List<(string, string, ModelPrice)>();
        foreach (var e in doc.RootElement.GetProperty("models").EnumerateArray())
        {
            var price = new ModelPrice
            {
                Currency = e.GetProperty("currency").GetString()!.ToUpperInvariant(),
                InputPerMTok = Decimal(e, "input") ?? 0,
                CachedInputPerMTok = Decimal(e, "cached_input"),
                OutputPerMTok = Decimal(e, "output") ?? 0,
                Images = new ImagePrice
                {
                    PerImage = Table(e, "per_image", v => v.GetDecimal()),
                    OutputTokensPerImage = Table(e, "output_tokens_per_image", v => v.GetInt32()),
                    DefaultSize = String(e, "default_size"),
                    DefaultQuality = String(e, "default_quality"),
                },
                Checked = PriceCatalogue.ParseDate(String(e, "checked")),
                Verified = !e.TryGetProperty("verified", out var v) || v.ValueKind != JsonValueKind.False,
                Source = "catalogue",
            };
            list.Add((e.GetProperty("provider").GetString()!, e.GetProperty("model").GetString()!, price));
        }
        return list;
    }

    private static decimal? Decimal(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDecimal() : null;

    private static string? String(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static Dictionary<string, T>? Table<T>(JsonElement e, string name, Func<JsonElement, T> read)
    {
        if (!e.TryGetProperty(name, out var t) || t.ValueKind != JsonValueKind.Object) return null;
        var table = new Dictionary<string, T>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in t.EnumerateObject()) table[p.Name] = read(p.Value);
        return table;
    }
}
