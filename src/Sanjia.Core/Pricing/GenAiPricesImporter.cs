using System.Text.Json;

namespace Sanjia.Core.Pricing;

/// <summary>
/// Reads the genai-prices <c>data.json</c> format (pydantic/genai-prices): a list of providers, each with models
/// whose <c>prices</c> are either one price set or a list of price sets under constraints. The importer keeps the
/// unconstrained (first) set and the base price of tiered prices, so the figure is the ordinary, non-discounted one.
/// genai-prices quotes every price in USD.
/// </summary>
public static class GenAiPricesImporter
{
    /// <summary>genai-prices provider ids → Sanjia preset names, where they differ.</summary>
    private static readonly Dictionary<string, string> ProviderNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["moonshotai"] = "moonshot",
        ["x-ai"] = "xai",
    };

    public sealed record Result(CatalogueFile Catalogue, int Providers, int Skipped);

    public static Result Import(Stream json, DateOnly checkedOn)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("Not a genai-prices data file: the top level must be a JSON array of providers.");
        }
        var file = new CatalogueFile { Note = "Imported from genai-prices data (prices in USD per million tokens)." };
        var providers = 0;
        var skipped = 0;
        foreach (var provider in doc.RootElement.EnumerateArray())
        {
            if (!provider.TryGetProperty("id", out var idEl) || !provider.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("Not a genai-prices data file: every provider needs 'id' and 'models'.");
            }
            providers++;
            var id = idEl.GetString()!;
            var name = ProviderNames.GetValueOrDefault(id, id);
            var source = provider.TryGetProperty("pricing_urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0
                ? urls[0].GetString() : null;
            foreach (var model in models.EnumerateArray())
            {
                var prices = model.TryGetProperty("prices", out var p) ? p : default;
                if (prices.ValueKind == JsonValueKind.Array)
                {
                    prices = prices.GetArrayLength() > 0 && prices[0].TryGetProperty("prices", out var first) ? first : default;
                }
                if (prices.ValueKind != JsonValueKind.Object || !prices.TryGetProperty("input_mtok", out _))
                {
                    skipped++; // free, per-request-only or malformed: better unpriced than wrong
                    continue;
                }
                var entry = new CatalogueEntry
                {
                    Provider = name,
                    Model = model.GetProperty("id").GetString()!,
                    Currency = "USD",
                    Input = Base(prices, "input_mtok") ?? 0m,
                    CachedInput = Base(prices, "cache_read_mtok"),
                    Output = Base(prices, "output_mtok") ?? 0m,
                    ContextWindow = model.TryGetProperty("context_window", out var cw) && cw.ValueKind == JsonValueKind.Number ? cw.GetInt32() : null,
                    Checked = checkedOn.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    Source = source,
                };
                file.Models.Add(entry);
                foreach (var alias in MatchedIds(model))
                {
                    if (!string.Equals(alias, entry.Model, StringComparison.OrdinalIgnoreCase))
                    {
                        file.Models.Add(new CatalogueEntry
                        {
                            Provider = entry.Provider, Model = alias, Currency = entry.Currency, Input = entry.Input, CachedInput = entry.CachedInput,
                            Output = entry.Output, ContextWindow = entry.ContextWindow, Checked = entry.Checked, Source = entry.Source,
                        });
                    }
                }
            }
        }
        return new Result(file, providers, skipped);
    }

    private static decimal? Base(JsonElement prices, string name)
    {
        if (!prices.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDecimal(),
            JsonValueKind.Object when v.TryGetProperty("base", out var b) => b.GetDecimal(),
            _ => null,
        };
    }

    /// <summary>The exact names a model's <c>match</c> clause accepts (<c>equals</c> leaves only; patterns are skipped).</summary>
    private static IEnumerable<string> MatchedIds(JsonElement model)
    {
        if (!model.TryGetProperty("match", out var match)) yield break;
        var stack = new Stack<JsonElement>();
        stack.Push(match);
        while (stack.Count > 0)
        {
            var e = stack.Pop();
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var prop in e.EnumerateObject())
                {
                    if (prop.NameEquals("equals") && prop.Value.ValueKind == JsonValueKind.String) yield return prop.Value.GetString()!;
                    else stack.Push(prop.Value);
                }
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var x in e.EnumerateArray()) stack.Push(x);
            }
        }
    }
}
