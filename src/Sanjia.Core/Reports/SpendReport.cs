using System.Globalization;
using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Reports;

/// <param name="CacheWriteTokens">Input tokens written to a vendor's prompt cache (priced apart: docs/pricing.md).</param>
/// <param name="CacheHits">Requests answered by the response cache (docs/caching.md); their tokens are counted with the rest, their cost is zero.</param>
/// <param name="CostSaved">What those hits would have cost: the cost of the answers they served.</param>
public sealed record SpendRow(string Group, string? Currency, int Requests, int UnpricedRequests,
    long InputTokens, long CachedInputTokens, long OutputTokens, long ReasoningTokens, decimal Cost,
    long CacheWriteTokens = 0, int CacheHits = 0, decimal CostSaved = 0m);

public sealed record SpendTotal(string? Currency, int Requests, int UnpricedRequests, decimal Cost, int CacheHits = 0, decimal CostSaved = 0m);

public sealed record SpendReportResult(string GroupBy, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<SpendRow> Rows, IReadOnlyList<SpendTotal> Totals);

/// <summary>
/// Spend grouped by key, team, model, provider or day. Amounts in different currencies are kept apart (one row per
/// group and currency) unless a target currency is asked for and every needed rate is configured. Unpriced requests
/// are counted in their own column and their cost row has no currency: they are never summed as zero-cost spend.
/// </summary>
public static class SpendReport
{
    public static readonly string[] Groups = ["key", "team", "model", "provider", "day"];

    public static (SpendReportResult? Report, string? Error) Build(IEnumerable<LedgerEntry> entries, string groupBy, DateTimeOffset from, DateTimeOffset to,
        string? targetCurrency, CurrencyConverter converter)
    {
        Func<LedgerEntry, string> key = groupBy switch
        {
            "key" => e => KeyLabel.Of(e.KeyId),
            "team" => e => e.TeamId ?? "(no team)",
            "model" => e => e.Model,
            "provider" => e => e.Provider ?? "(none)",
            "day" => e => e.Timestamp.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            _ => null!,
        };
        if (key is null)
        {
            return (null, $"group_by must be one of: {string.Join(", ", Groups)}.");
        }
        var acc = new Dictionary<(string, string?), SpendRow>();
        // A request with failed attempts that consumed tokens has several rows (one per attempt): every row's tokens
        // and cost count, once; the request itself counts once per group.
        var seen = new HashSet<(string, string?, string)>();
        foreach (var e in entries)
        {
            var currency = e.Cost is null ? null : e.Currency;
            var cost = e.Cost ?? 0m;
            var saved = currency is null ? 0m : e.CostSaved ?? 0m;
            if (currency is not null && targetCurrency is not null)
            {
                if (!converter.TryConvert(cost, currency, targetCurrency, out cost) || !converter.TryConvert(saved, currency, targetCurrency, out saved))
                {
                    return (null, $"No conversion rate from {currency} to {targetCurrency} is configured (Sanjia:Metering:ExchangeRates:{currency}:{targetCurrency}).");
                }
                currency = targetCurrency.ToUpperInvariant();
            }
            var k = (key(e), currency);
            var row = acc.TryGetValue(k, out var r) ? r : new SpendRow(k.Item1, currency, 0, 0, 0, 0, 0, 0, 0m);
            acc[k] = row with
            {
                Requests = row.Requests + (seen.Add((k.Item1, k.currency, e.RequestId)) ? 1 : 0),
                // Requests refused before any upstream call used no tokens: nothing to price.
                UnpricedRequests = row.UnpricedRequests + (e.Cost is null && e.Usage.Total > 0 ? 1 : 0),
                InputTokens = row.InputTokens + e.Usage.Input,
                CachedInputTokens = row.CachedInputTokens + e.Usage.CachedInput,
                OutputTokens = row.OutputTokens + e.Usage.Output,
                ReasoningTokens = row.ReasoningTokens + e.Usage.Reasoning,
                Cost = row.Cost + cost,
                CacheWriteTokens = row.CacheWriteTokens + e.Usage.CacheWrite,
                CacheHits = row.CacheHits + (e.CacheOf is null ? 0 : 1),
                CostSaved = row.CostSaved + saved,
            };
        }
        var rows = acc.Values.OrderBy(r => r.Group, StringComparer.Ordinal).ThenBy(r => r.Currency, StringComparer.Ordinal).ToList();
        var totals = rows.GroupBy(r => r.Currency)
            .Select(g => new SpendTotal(g.Key, g.Sum(r => r.Requests), g.Sum(r => r.UnpricedRequests), g.Sum(r => r.Cost), g.Sum(r => r.CacheHits), g.Sum(r => r.CostSaved)))
            .OrderBy(t => t.Currency, StringComparer.Ordinal).ToList();
        return (new SpendReportResult(groupBy, from, to, rows, totals), null);
    }

    public static string ToCsv(SpendReportResult report)
    {
        var sb = new StringBuilder();
        sb.Append(report.GroupBy).Append(",currency,requests,unpriced_requests,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cache_write_tokens,cache_hits,cost_saved,cost\n");
        foreach (var r in report.Rows)
        {
            sb.Append(Csv(r.Group)).Append(',').Append(r.Currency ?? "unpriced").Append(',')
              .Append(r.Requests.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.UnpricedRequests.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.InputTokens.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.CachedInputTokens.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.OutputTokens.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.ReasoningTokens.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.CacheWriteTokens.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.CacheHits.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.Currency is null ? "" : r.CostSaved.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.Currency is null ? "" : r.Cost.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }

    private static string Csv(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
