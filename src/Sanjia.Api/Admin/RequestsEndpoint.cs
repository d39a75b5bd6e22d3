using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Metering;
using Sanjia.Core.Traffic;

namespace Sanjia.Api.Admin;

/// <summary>
/// <c>GET /admin/requests</c>: the request log, ledger rows newest first, filtered by key, team, model, provider,
/// deployment, status, guardrail rule and time, a page at a time (<c>cursor</c> = <c>next_cursor</c> of the previous page). With
/// <c>bodies=true</c> and body logging on (<c>Sanjia:Logging:Bodies</c>) each row carries its logged request and
/// answer; with body logging off there are none to give and <c>bodies</c> is refused rather than silently empty.
/// </summary>
public sealed class RequestsEndpoint(ILedgerQuery query, JournaledLedger? ledger, IBodyLogStore? bodies)
{
    public const string Route = "/admin/requests";

    public async Task HandleAsync(HttpContext http)
    {
        var q = http.Request.Query;
        var (filter, withBodies, error) = Parse(q);
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        if (withBodies && bodies is null)
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(
                "Bodies are not logged on this gateway (Sanjia:Logging:Bodies is off), so 'bodies=true' has nothing to return.", "bodies", "body_logging_off")).ConfigureAwait(false);
            return;
        }
        if (ledger is not null) await ledger.FlushAsync(http.RequestAborted).ConfigureAwait(false); // rows journaled but not yet stored
        // One more than asked tells whether another page exists.
        var rows = await query.QueryAsync(filter with { Limit = filter.Limit + 1 }, http.RequestAborted).ConfigureAwait(false);
        var hasMore = rows.Count > filter.Limit;
        var page = hasMore ? rows.Take(filter.Limit).ToList() : rows;
        var logged = withBodies && page.Count > 0 ? await BodiesAsync(page, http.RequestAborted).ConfigureAwait(false) : null;

        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.Body, SanjiaJson.Writer);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach (var row in page) WriteRow(w, row, logged);
        w.WriteEndArray();
        AdminQuery.WritePageEnd(w, hasMore, hasMore ? page[^1].Id : 0);
        w.WriteEndObject();
        await w.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The logged exchanges of a page's requests, by request id (the body log is read over the page's time span).</summary>
    private async Task<Dictionary<string, LoggedExchange>> BodiesAsync(IReadOnlyList<LedgerRow> page, CancellationToken cancellationToken)
    {
        var first = page.Min(r => r.Entry.Timestamp);
        var last = page.Max(r => r.Entry.Timestamp);
        // The body log stamps an exchange when it ends, the ledger when it starts: a margin of the longest request.
        var found = await bodies!.ReadAsync(new BodyLogQuery(null, null, first.AddMinutes(-1), last.AddMinutes(30), 100_000), cancellationToken).ConfigureAwait(false);
        var wanted = page.Select(r => r.Entry.RequestId).ToHashSet(StringComparer.Ordinal);
        var byId = new Dictionary<string, LoggedExchange>(StringComparer.Ordinal);
        foreach (var e in found)
        {
            if (wanted.Contains(e.RequestId)) byId[e.RequestId] = e;
        }
        return byId;
    }

    public static void WriteRow(Utf8JsonWriter w, LedgerRow row, IReadOnlyDictionary<string, LoggedExchange>? logged)
    {
        var e = row.Entry;
        w.WriteStartObject();
        w.WriteString("id"u8, row.Id.ToString(CultureInfo.InvariantCulture));
        w.WriteString("object"u8, "request"u8);
        w.WriteString("request_id"u8, e.RequestId);
        w.WriteNumber("attempt"u8, e.Attempt);
        w.WriteString("created_at"u8, e.Timestamp);
        Text(w, "key_id"u8, e.KeyId);
        Text(w, "team_id"u8, e.TeamId);
        w.WriteString("endpoint"u8, e.Endpoint);
        w.WriteString("model"u8, e.Model);
        Text(w, "provider"u8, e.Provider);
        Text(w, "deployment"u8, e.Deployment);
        w.WriteNumber("status"u8, e.Status);
        Text(w, "error_code"u8, e.ErrorCode);
        w.WriteNumber("latency_ms"u8, Math.Round(e.LatencyMs, 1));
        if (e.TimeToFirstTokenMs is { } ttft) w.WriteNumber("ttft_ms"u8, Math.Round(ttft, 1)); else w.WriteNull("ttft_ms"u8);
        w.WriteBoolean("stream"u8, e.Stream);
        // A response-cache hit: the request whose answer it served, and what that answer had cost (docs/caching.md).
        Text(w, "cache_of"u8, e.CacheOf);
        if (e.CostSaved is { } saved) w.WriteString("cost_saved"u8, AdminJson.Money(saved)); else w.WriteNull("cost_saved"u8);
        w.WriteStartObject("usage"u8);
        w.WriteNumber("input_tokens"u8, e.Usage.Input);
        w.WriteNumber("cached_input_tokens"u8, e.Usage.CachedInput);
        w.WriteNumber("output_tokens"u8, e.Usage.Output);
        w.WriteNumber("reasoning_tokens"u8, e.Usage.Reasoning);
        w.WriteBoolean("estimated"u8, e.Usage.Estimated);
        w.WriteEndObject();
        // As in the spend report: an unpriced row has no currency and the cost "unpriced", never 0.
        if (e.Cost is { } cost && e.Currency is { } currency)
        {
            w.WriteString("cost"u8, AdminJson.Money(cost));
            w.WriteString("currency"u8, currency);
        }
        else
        {
            w.WriteString("cost"u8, "unpriced"u8);
            w.WriteNull("currency"u8);
        }
        if (e.Images is { } images) w.WriteNumber("images"u8, images); else w.WriteNull("images"u8);
        w.WriteBoolean("evaluation"u8, e.Evaluation);
        // What the guardrails did: rule ids and actions, never the matched text (docs/guardrails.md); [] when nothing matched.
        w.WriteStartArray("guardrails"u8);
        foreach (var d in GuardrailDecision.Parse(e.Guardrails))
        {
            w.WriteStartObject();
            w.WriteString("check"u8, d.Check);
            w.WriteString("rule"u8, d.Rule);
            w.WriteString("action"u8, d.Action);
            w.WriteString("policy"u8, d.Policy);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (logged is not null)
        {
            if (logged.TryGetValue(e.RequestId, out var x))
            {
                w.WriteStartObject("body"u8);
                w.WriteString("request"u8, x.RequestBody);
                w.WriteString("response"u8, x.ResponseText);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("body"u8);
            }
        }
        w.WriteEndObject();
    }

    private static void Text(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }

    /// <summary>The filter from the query string, or the first invalid parameter as a 400.</summary>
    public static (LedgerFilter Filter, bool Bodies, GatewayError? Error) Parse(IQueryCollection q)
    {
        var filter = new LedgerFilter
        {
            KeyId = AdminQuery.Text(q, "key_id"),
            TeamId = AdminQuery.Text(q, "team_id"),
            Model = AdminQuery.Text(q, "model"),
            Provider = AdminQuery.Text(q, "provider"),
            Deployment = AdminQuery.Text(q, "deployment"),
            Guardrail = AdminQuery.Text(q, "guardrail"),
        };
        if (AdminQuery.Text(q, "status") is { } status)
        {
            (int, int)? range = status.ToLowerInvariant() switch
            {
                "error" => (400, 599),
                "success" => (200, 299),
                { Length: 3 } s when s[1..] == "xx" && s[0] is >= '1' and <= '5' => ((s[0] - '0') * 100, (s[0] - '0') * 100 + 99),
                var s when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 0 and <= 599 => (code, code),
                _ => null,
            };
            if (range is not { } r) return (filter, false, GatewayError.Invalid("'status' must be a status code (429), a class (5xx), 'error' (400-599) or 'success' (2xx).", "status"));
            filter = filter with { StatusFrom = r.Item1, StatusTo = r.Item2 };
        }
        if (AdminQuery.Evaluation(q, null, out var evaluation) is { } evaluationError) return (filter, false, evaluationError);
        filter = filter with { Evaluation = evaluation };
        var error = AdminQuery.RangeAndPage(q, out var from, out var to, out var limit, out var before);
        filter = filter with { From = from, To = to, Limit = limit, Before = before };
        var bodies = false;
        switch (AdminQuery.Text(q, "bodies")?.ToLowerInvariant())
        {
            case null or "false" or "0": break;
            case "true" or "1": bodies = true; break;
            default: error ??= GatewayError.Invalid("'bodies' must be 'true' (each row with its logged request and answer) or 'false'.", "bodies"); break;
        }
        return (filter, bodies, error);
    }
}
