using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Metering;
using Sanjia.Core.Reports;

namespace Sanjia.Api.Admin;

/// <summary>
/// <c>/admin/stats/*</c>: the aggregates the web console draws, computed from the ledger by <see cref="LedgerStats"/>
/// (docs/admin-api.md): <c>overview</c> (traffic per hour), <c>usage</c> (use per group over days or weeks, with its
/// trend), <c>sla</c> (availability and latency per vendor or deployment per day) and <c>guardrails</c> (the guardrails'
/// decisions per rule and per day). Scripts read the same routes.
/// </summary>
public sealed class StatsEndpoints(ISpendSource ledgerRows, JournaledLedger? ledger, TimeProvider time)
{
    public const string Route = "/admin/stats";

    /// <summary>The ledger's rows of the span, evaluation traffic kept or left out as <paramref name="evaluation"/> says (null: all).</summary>
    private async Task<IReadOnlyList<LedgerEntry>> RowsAsync(DateTimeOffset from, DateTimeOffset to, bool? evaluation, CancellationToken cancellationToken)
    {
        if (ledger is not null) await ledger.FlushAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ledgerRows.ReadRangeAsync(from, to, cancellationToken).ConfigureAwait(false);
        return evaluation is { } only ? [.. rows.Where(r => r.Evaluation == only)] : rows;
    }

    private static GatewayError? Int(IQueryCollection q, string name, int min, int max, int fallback, out int value)
    {
        value = fallback;
        if (AdminQuery.Text(q, name) is not { } text) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max
            ? null : GatewayError.Invalid($"'{name}' must be a whole number from {min} to {max}.", name);
    }

    /// <summary><c>GET /admin/stats/overview?hours=24[&amp;evaluation=true|false|any]</c>: one bucket per hour, the current hour last.</summary>
    public async Task OverviewAsync(HttpContext http)
    {
        var hoursError = Int(http.Request.Query, "hours", 1, 24 * 31, 24, out var hours);
        var evaluationError = AdminQuery.Evaluation(http.Request.Query, null, out var evaluation);
        if ((hoursError ?? evaluationError) is { } error)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var now = time.GetUtcNow();
        var end = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        var from = end.AddHours(-hours);
        var rows = await RowsAsync(from, end, evaluation, http.RequestAborted).ConfigureAwait(false);
        var buckets = LedgerStats.Overview(rows, from, TimeSpan.FromHours(1), hours);
        await WriteAsync(http, w =>
        {
            w.WriteString("object"u8, "stats.overview"u8);
            w.WriteString("from"u8, from);
            w.WriteString("to"u8, end);
            w.WriteString("evaluation"u8, AdminQuery.EvaluationName(evaluation));
            w.WritePropertyName("total"u8);
            WriteBucket(w, LedgerStats.Summarize([.. rows.Where(r => r.Status != 0)], from, end));
            w.WriteStartArray("hours"u8);
            foreach (var b in buckets) WriteBucket(w, b);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /admin/stats/usage?by=model|provider|deployment|key|team&amp;period=day|week&amp;periods=8[&amp;evaluation=false|true|any]</c>:
    /// evaluation traffic (compare runs, evaluation keys) is left out unless asked for, so a large compare run does not
    /// make a model look "rising".
    /// </summary>
    public async Task UsageAsync(HttpContext http)
    {
        var q = http.Request.Query;
        var by = AdminQuery.Text(q, "by") ?? "model";
        var periodName = AdminQuery.Text(q, "period") ?? "week";
        var periodsError = Int(q, "periods", 2, 60, 8, out var periods);
        var evaluationError = AdminQuery.Evaluation(q, false, out var evaluation);
        var error = LedgerStats.GroupKey(by) is null ? GatewayError.Invalid("'by' must be model, provider, deployment, key or team.", "by")
            : periodName is not ("day" or "week") ? GatewayError.Invalid("'period' must be day or week.", "period")
            : periodsError ?? evaluationError;
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var period = periodName == "day" ? TimeSpan.FromDays(1) : TimeSpan.FromDays(7);
        var end = time.GetUtcNow();
        var rows = await RowsAsync(end - period * periods, end, evaluation, http.RequestAborted).ConfigureAwait(false);
        var groups = LedgerStats.Usage(rows, LedgerStats.GroupKey(by)!, end, period, periods);
        await WriteAsync(http, w =>
        {
            w.WriteString("object"u8, "stats.usage"u8);
            w.WriteString("by"u8, by);
            w.WriteString("period"u8, periodName);
            w.WriteString("to"u8, end);
            w.WriteString("evaluation"u8, AdminQuery.EvaluationName(evaluation));
            w.WriteStartArray("groups"u8);
            foreach (var g in groups)
            {
                w.WriteStartObject();
                w.WriteString("group"u8, g.Group);
                w.WriteNumber("requests"u8, g.Periods[^1].Requests);
                w.WriteNumber("previous_requests"u8, g.Periods[^2].Requests);
                w.WriteNumber("share"u8, Math.Round(g.ShareCurrent, 4));
                w.WriteNumber("previous_share"u8, Math.Round(g.SharePrevious, 4));
                w.WriteNumber("change_points"u8, Math.Round(g.Change, 2));
                w.WriteString("trend"u8, g.Trend);
                w.WriteStartArray("periods"u8);
                foreach (var b in g.Periods) WriteBucket(w, b);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary><c>GET /admin/stats/sla?by=provider|deployment&amp;days=7[&amp;evaluation=true|false|any]</c>: per group, each UTC day and the whole span.</summary>
    public async Task SlaAsync(HttpContext http)
    {
        var q = http.Request.Query;
        var by = AdminQuery.Text(q, "by") ?? "provider";
        var daysError = Int(q, "days", 1, 90, 7, out var days);
        var evaluationError = AdminQuery.Evaluation(q, null, out var evaluation);
        var error = by is not ("provider" or "deployment") ? GatewayError.Invalid("'by' must be provider or deployment.", "by") : daysError ?? evaluationError;
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var now = time.GetUtcNow();
        var firstDay = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1 - days);
        var rows = await RowsAsync(firstDay, now.AddSeconds(1), evaluation, http.RequestAborted).ConfigureAwait(false);
        var groups = LedgerStats.Sla(rows, LedgerStats.GroupKey(by)!, now, days);
        await WriteAsync(http, w =>
        {
            w.WriteString("object"u8, "stats.sla"u8);
            w.WriteString("by"u8, by);
            w.WriteNumber("days"u8, days);
            w.WriteString("evaluation"u8, AdminQuery.EvaluationName(evaluation));
            w.WriteStartArray("groups"u8);
            foreach (var g in groups)
            {
                w.WriteStartObject();
                w.WriteString("group"u8, g.Group);
                w.WritePropertyName("total"u8);
                WriteDay(w, g.Total, withDay: false);
                w.WriteStartArray("days"u8);
                foreach (var d in g.Days) WriteDay(w, d, withDay: true);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /admin/stats/guardrails?days=7</c>: what the guardrails decided over the last days (UTC, today included),
    /// from the ledger rows' decisions: per rule, check, action and policy, and per day; never the matched text.
    /// </summary>
    public async Task GuardrailsAsync(HttpContext http)
    {
        if (Int(http.Request.Query, "days", 1, 90, 7, out var days) is { } error)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var now = time.GetUtcNow();
        var firstDay = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1 - days);
        var rows = (await RowsAsync(firstDay, now.AddSeconds(1), null, http.RequestAborted).ConfigureAwait(false)).Where(r => r.Status != 0).ToList();
        var decided = rows.Select(r => (Row: r, Decisions: GuardrailDecision.Parse(r.Guardrails))).Where(x => x.Decisions.Count > 0).ToList();
        static bool Blocked(LedgerEntry r) => r.ErrorCode == "guardrail_blocked";
        var rules = decided.SelectMany(x => x.Decisions.Select(d => (d, x.Row.Timestamp)))
            .GroupBy(x => x.d)
            .Select(g => (Decision: g.Key, Count: g.Count(), Last: g.Max(x => x.Timestamp)))
            .OrderByDescending(x => x.Count).ThenBy(x => x.Decision.Rule, StringComparer.Ordinal).ThenBy(x => x.Decision.Check, StringComparer.Ordinal)
            .ToList();
        await WriteAsync(http, w =>
        {
            w.WriteString("object"u8, "stats.guardrails"u8);
            w.WriteNumber("days"u8, days);
            w.WriteNumber("requests"u8, rows.Count);
            w.WriteNumber("requests_with_decisions"u8, decided.Count);
            w.WriteNumber("blocked"u8, rows.Count(Blocked));
            w.WriteStartArray("rules"u8);
            foreach (var (d, count, last) in rules)
            {
                w.WriteStartObject();
                w.WriteString("rule"u8, d.Rule);
                w.WriteString("check"u8, d.Check);
                w.WriteString("action"u8, d.Action);
                w.WriteString("policy"u8, d.Policy);
                w.WriteNumber("count"u8, count);
                w.WriteString("last_at"u8, last);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("per_day"u8);
            for (var day = firstDay; day <= now; day = day.AddDays(1))
            {
                var end = day.AddDays(1);
                var inDay = rows.Where(r => r.Timestamp >= day && r.Timestamp < end).ToList();
                w.WriteStartObject();
                w.WriteString("day"u8, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                w.WriteNumber("requests"u8, inDay.Count);
                w.WriteNumber("requests_with_decisions"u8, inDay.Count(r => r.Guardrails is not null));
                w.WriteNumber("blocked"u8, inDay.Count(Blocked));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static void WriteDay(Utf8JsonWriter w, LedgerStats.SlaDay d, bool withDay)
    {
        w.WriteStartObject();
        if (withDay) w.WriteString("day"u8, d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        w.WriteNumber("requests"u8, d.Requests);
        w.WriteNumber("client_errors"u8, d.ClientErrors);
        w.WriteNumber("vendor_failures"u8, d.VendorFailures);
        Number(w, "availability"u8, d.Availability, 5);
        Number(w, "latency_p50_ms"u8, d.LatencyP50, 1);
        Number(w, "latency_p95_ms"u8, d.LatencyP95, 1);
        Number(w, "latency_p99_ms"u8, d.LatencyP99, 1);
        Number(w, "ttft_p50_ms"u8, d.TtftP50, 1);
        Number(w, "ttft_p95_ms"u8, d.TtftP95, 1);
        w.WriteStartObject("failures"u8);
        foreach (var (code, n) in d.FailureCodes.OrderBy(c => c.Key, StringComparer.Ordinal)) w.WriteNumber(code, n);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteBucket(Utf8JsonWriter w, LedgerStats.Bucket b)
    {
        w.WriteStartObject();
        w.WriteString("start"u8, b.Start);
        w.WriteNumber("requests"u8, b.Requests);
        w.WriteNumber("requests_per_second"u8, Math.Round(b.RequestsPerSecond, 4));
        w.WriteNumber("errors"u8, b.Errors);
        w.WriteNumber("client_errors"u8, b.ClientErrors);
        Number(w, "error_rate"u8, b.ErrorRate, 4);
        Number(w, "latency_p50_ms"u8, b.LatencyP50, 1);
        Number(w, "latency_p95_ms"u8, b.LatencyP95, 1);
        Number(w, "ttft_p50_ms"u8, b.TtftP50, 1);
        Number(w, "ttft_p95_ms"u8, b.TtftP95, 1);
        w.WriteNumber("input_tokens"u8, b.InputTokens);
        w.WriteNumber("output_tokens"u8, b.OutputTokens);
        w.WriteStartArray("spend"u8);
        foreach (var m in b.Spend)
        {
            w.WriteStartObject();
            w.WriteString("currency"u8, m.Currency);
            w.WriteString("cost"u8, AdminJson.Money(m.Cost));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("unpriced_requests"u8, b.UnpricedRequests);
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, ReadOnlySpan<byte> name, double? value, int digits)
    {
        if (value is { } v) w.WriteNumber(name, Math.Round(v, digits)); else w.WriteNull(name);
    }

    private static async Task WriteAsync(HttpContext http, Action<Utf8JsonWriter> body)
    {
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.Body, SanjiaJson.Writer);
        w.WriteStartObject();
        body(w);
        w.WriteEndObject();
        await w.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}
