using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Api.Admin;
using Sanjia.Core.Shadow;
using Sanjia.Evaluation.Reports;

namespace Sanjia.Api.Shadow;

/// <summary>
/// <c>GET /admin/shadow/{alias}</c> (master key only): the shadow's settings, counters (enqueued, dropped, capped,
/// completed, failed, skipped by the budget, queued now), the budget's state (limit, spent, reserved, resets), the stored pairs' summary and the comparison report built from them;
/// <c>?pairs=true</c> adds the pairs themselves. <c>GET /admin/shadow/{alias}/report.html</c>: the HTML report.
/// </summary>
public sealed class ShadowAdminEndpoints(ShadowTap shadow, IShadowStore store, TimeProvider time)
{
    public const string Route = "/admin/shadow";
    private const int MaxPairs = 100_000;

    public async Task GetAsync(HttpContext http, string alias)
    {
        if (shadow.Settings(alias) is not { } settings)
        {
            await NotConfiguredAsync(http, alias).ConfigureAwait(false);
            return;
        }
        var counters = shadow.Counters(alias)!;
        // Counters first, pairs second: a pair is stored before it is counted, so the view never shows more
        // completed copies than stored pairs.
        var counted = new JsonObject
        {
            ["enqueued"] = counters.Enqueued,
            ["dropped"] = counters.Dropped,
            ["capped"] = counters.Capped,
            ["completed"] = counters.Completed,
            ["failed"] = counters.Failed,
            ["skipped_budget"] = counters.SkippedBudget,
            ["skipped_unpriced"] = counters.SkippedUnpriced,
            ["queued"] = shadow.QueueDepth(alias),
        };
        var pairs = await store.ReadAsync(alias, null, MaxPairs, http.RequestAborted).ConfigureAwait(false);
        var scored = pairs.Where(p => p.Score is not null).ToList();
        var body = new JsonObject
        {
            ["alias"] = alias,
            ["object"] = "shadow",
            ["candidate"] = settings.Candidate,
            ["fraction"] = settings.Fraction,
            ["queue_size"] = settings.QueueSize,
            ["max_requests_per_hour"] = settings.MaxRequestsPerHour,
            ["counters"] = counted,
            ["budget"] = shadow.Budget(alias) is { } sb && await sb.StatusAsync(http.RequestAborted).ConfigureAwait(false) is { } b ? new JsonObject
            {
                ["limit"] = b.Limit,
                ["spent"] = b.Spent,
                ["reserved"] = b.Reserved,
                ["currency"] = b.Currency,
                ["period"] = b.Period,
                ["resets_at"] = b.ResetsAt,
                ["skipped_budget"] = counters.SkippedBudget,
                ["allow_unpriced"] = settings.AllowUnpriced,
                ["key_id"] = ShadowTap.KeyIdOf(alias),
            } : null,
            ["pairs"] = pairs.Count,
            ["scored_pairs"] = scored.Count,
            ["mean_similarity"] = scored.Count == 0 ? null : Math.Round(scored.Average(p => p.Score!.Value), 4),
            ["match_rate"] = scored.Count == 0 ? null : Math.Round((double)scored.Count(p => p.Score >= settings.Threshold) / scored.Count, 4),
            ["report"] = scored.Count == 0 ? null : JsonNode.Parse(JsonReport.Render(ShadowReport.Build(alias, settings.Candidate!, settings.Threshold, pairs, time))),
        };
        if (http.Request.Query["pairs"] == "true")
        {
            body["data"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(pairs, JsonReport.Options));
        }
        await AdminHttp.WriteJsonAsync(http, body).ConfigureAwait(false);
    }

    public async Task ReportHtmlAsync(HttpContext http, string alias)
    {
        if (shadow.Settings(alias) is not { } settings)
        {
            await NotConfiguredAsync(http, alias).ConfigureAwait(false);
            return;
        }
        var pairs = await store.ReadAsync(alias, null, MaxPairs, http.RequestAborted).ConfigureAwait(false);
        if (!pairs.Any(p => p.Score is not null))
        {
            await AdminHttp.NotFoundAsync(http, $"Alias '{alias}' has no graded shadow pairs yet.", "report_not_ready").ConfigureAwait(false);
            return;
        }
        http.Response.ContentType = "text/html; charset=utf-8";
        await http.Response.WriteAsync(HtmlReport.Render(ShadowReport.Build(alias, settings.Candidate!, settings.Threshold, pairs, time)), http.RequestAborted).ConfigureAwait(false);
    }

    private static Task NotConfiguredAsync(HttpContext http, string alias) =>
        AdminHttp.NotFoundAsync(http, $"No shadow is configured for alias '{alias}' (Sanjia:Shadow:{alias}).", "shadow_not_configured");
}
