using System.Text.Json;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Pricing;

/// <summary>
/// Reads the genai-prices <c>data.json</c> format (pydantic/genai-prices): a list of providers, each with models
/// whose <c>prices</c> are either one price set or a list of price sets under constraints. The importer keeps the
/// unconstrained (first) set, so the figure is the ordinary, non-discounted one. Tiered prices (genai-prices'
/// "cliff" tiers on input tokens, one list per kind of token) become the catalogue's input-length tiers.
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
                var input = Read(prices, "input_mtok");
                var cached = Read(prices, "cache_read_mtok");
                var written = Read(prices, "cache_write_mtok");
                var output = Read(prices, "output_mtok");
                var entry = new CatalogueEntry
                {
                    Provider = name,
                    Model = model.GetProperty("id").GetString()!,
                    Currency = "USD",
                    Input = input?.Base ?? 0m,
                    CachedInput = cached?.Base,
                    CacheWrite = written?.Base,
                    Output = output?.Base ?? 0m,
                    Tiers = Tiers(input, cached, written, output),
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
                            CacheWrite = entry.CacheWrite, Output = entry.Output, Tiers = entry.Tiers, ContextWindow = entry.ContextWindow, Checked = entry.Checked, Source = entry.Source,
                        });
                    }
                }
            }
        }
        return new Result(file, providers, skipped);
    }

    /// <summary>One kind of token's price: a base and, for tiered prices, (start, price) cliffs in ascending order.</summary>
    private sealed record Rate(decimal Base, List<(long Start, decimal Price)> Cliffs)
    {
        public decimal At(long inputTokens)
        {
            var price = Base;
            foreach (var (start, p) in Cliffs)
            {
                if (inputTokens > start) price = p;
            }
            return price;
        }
    }

    private static Rate? Read(JsonElement prices, string name)
    {
        if (!prices.TryGetProperty(name, out var v)) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.Number:
                return new Rate(v.GetDecimal(), []);
            case JsonValueKind.Object when v.TryGetProperty("base", out var b):
                var cliffs = new List<(long, decimal)>();
                if (v.TryGetProperty("tiers", out var tiers) && tiers.ValueKind == JsonValueKind.Array)
                {
                    foreach (var t in tiers.EnumerateArray())
                    {
                        cliffs.Add((t.GetProperty("start").GetInt64(), t.GetProperty("price").GetDecimal()));
                    }
                }
                cliffs.Sort((x, y) => x.Item1.CompareTo(y.Item1));
                return new Rate(b.GetDecimal(), cliffs);
            default:
                return null;
        }
    }

    /// <summary>One catalogue tier per distinct threshold, each kind of token at its price above that threshold.</summary>
    private static List<PriceTierOptions>? Tiers(Rate? input, Rate? cached, Rate? written, Rate? output)
    {
        var starts = new SortedSet<long>();
        foreach (var rate in new[] { input, cached, written, output })
        {
            foreach (var (start, _) in rate?.Cliffs ?? []) starts.Add(start);
        }
        if (starts.Count == 0) return null;
        return [.. starts.Select(start => new PriceTierOptions
        {
            AboveInputTokens = start,
            Input = input?.At(start + 1) ?? 0m,
            CachedInput = cached?.At(start + 1),
            CacheWrite = written?.At(start + 1),
            Output = output?.At(start + 1) ?? 0m,
        })];
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
