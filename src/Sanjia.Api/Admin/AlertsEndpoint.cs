using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;

namespace Sanjia.Api.Admin;

/// <summary>
/// <c>GET /admin/alerts</c>: the budget alerts fired, newest first, with how their webhooks answered; <c>id</c> keeps
/// one key's or team's, <c>limit</c> caps the list; there is no cursor (docs/admin-api.md).
/// </summary>
public sealed class AlertsEndpoint(IAlertStore store)
{
    public const string Route = "/admin/alerts";

    public async Task ListAsync(HttpContext http)
    {
        var q = http.Request.Query;
        // No cursor here (alerts are few: one per threshold, budget and period; narrow by id, or raise limit to 500):
        // one sent is refused rather than read as the first page again, which a generic pager would loop on.
        var pageError = AdminQuery.Page(q, out var limit, out _);
        var error = AdminQuery.Text(q, "cursor") is not null
            ? GatewayError.Invalid("'cursor' is not taken by /admin/alerts: narrow the list with 'id' (a key's or team's) or raise 'limit' (up to 500).", "cursor")
            : pageError;
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var alerts = await store.ListAsync(AdminQuery.Text(q, "id"), limit, http.RequestAborted).ConfigureAwait(false);
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.Body, SanjiaJson.Writer);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach (var a in alerts)
        {
            w.WriteStartObject();
            w.WriteString("id"u8, a.Id);
            w.WriteString("object"u8, "budget_alert"u8);
            w.WriteString("fired_at"u8, a.FiredAt);
            w.WriteString("scope"u8, a.Scope);
            w.WriteString("scope_id"u8, a.ScopeId);
            w.WriteNumber("percent"u8, a.Percent);
            w.WriteString("used"u8, a.Used.ToString(CultureInfo.InvariantCulture));
            w.WriteString("limit"u8, a.Limit.ToString(CultureInfo.InvariantCulture));
            w.WriteString("currency"u8, a.Currency);
            w.WriteString("period"u8, a.Period.ToString().ToLowerInvariant());
            w.WriteString("period_start"u8, a.PeriodStart);
            if (a.ResetsAt is { } r) w.WriteString("resets_at"u8, r); else w.WriteNull("resets_at"u8);
            w.WriteString("reason"u8, a.Reason);
            w.WriteString("delivery"u8, a.Delivery);
            w.WriteNumber("attempts"u8, a.Attempts);
            if (a.LastError is { } e) w.WriteString("last_error"u8, e); else w.WriteNull("last_error"u8);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}
