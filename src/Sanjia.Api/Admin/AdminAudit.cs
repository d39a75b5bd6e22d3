using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.Admin;

/// <summary>
/// The audit log of admin actions. Every admin route that changes something (any method but GET and HEAD) is wrapped
/// once, when the endpoints are built, by a convention on the admin route group: the other routes, the model routes
/// among them, run exactly as before and pay nothing. The wrapper runs the endpoint and, before its answer goes out, records who (the master key
/// or the key's id), what (method, path, route, the object's id, the names of the fields the body set: never their
/// values, so secrets and prompt texts stay out), when, from where (the peer address) and the status it answered.
/// </summary>
public sealed class AdminAudit(IAuditStore store, TimeProvider time)
{
    /// <summary>The item an endpoint sets to name the object it created (its id is in no route value).</summary>
    public const string TargetItem = "sanjia.audit.target";
    /// <summary>The item the console's session sign-in sets: the action came through the web console.</summary>
    public const string ViaItem = "sanjia.audit.via";
    // Bodies larger than this are not read for field names (the endpoint refuses them anyway: 64 KB for keys).
    private const int MaxPeek = 1 << 20;

    public static void Target(HttpContext http, string id) => http.Items[TargetItem] = id;

    /// <summary>Wraps every state-changing endpoint of <paramref name="admin"/>.</summary>
    public void Apply(IEndpointConventionBuilder admin) => admin.Add(b =>
    {
        var methods = b.Metadata.OfType<IHttpMethodMetadata>().FirstOrDefault()?.HttpMethods;
        if (methods is null || methods.All(m => HttpMethods.IsGet(m) || HttpMethods.IsHead(m)) || b.RequestDelegate is not { } inner) return;
        var route = (b as RouteEndpointBuilder)?.RoutePattern.RawText ?? b.DisplayName ?? "";
        b.RequestDelegate = http => RecordAsync(http, inner, route);
    });

    private async Task RecordAsync(HttpContext http, RequestDelegate inner, string route)
    {
        var fields = await FieldsAsync(http.Request).ConfigureAwait(false);
        // Recorded when the response starts, so a caller that reads /admin/audit right after its answer finds the
        // action there; or when the endpoint returns without a response begun (the finally), whichever comes first.
        var recorded = new StrongBox<int>();
        http.Response.OnStarting(() => Interlocked.Exchange(ref recorded.Value, 1) == 0 ? AppendAsync(http, route, fields) : Task.CompletedTask);
        try
        {
            await inner(http).ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Exchange(ref recorded.Value, 1) == 0) await AppendAsync(http, route, fields).ConfigureAwait(false);
        }
    }

    private Task AppendAsync(HttpContext http, string route, (string[] Names, string? Id) fields)
    {
        var caller = http.Features.Get<Caller>();
        var target = http.Request.RouteValues.TryGetValue("id", out var id) && id is string s ? s
            : http.Request.RouteValues.TryGetValue("alias", out var alias) && alias is string a ? a
            : http.Items.TryGetValue(TargetItem, out var t) && t is string ts ? ts
            : fields.Id;
        return store.AppendAsync(new AuditEntry
        {
            Timestamp = time.GetUtcNow(),
            Actor = caller is null ? "anonymous" : caller.IsMaster ? "master" : caller.KeyId ?? "unknown",
            Via = http.Items.TryGetValue(ViaItem, out var via) && via is string v ? v : "key",
            RemoteAddress = http.Connection.RemoteIpAddress?.ToString(),
            Method = http.Request.Method,
            Path = http.Request.Path.Value ?? "",
            Route = route,
            TargetId = target,
            Fields = fields.Names,
            Status = http.Response.StatusCode,
        }, CancellationToken.None); // recorded even when the caller went away
    }

    /// <summary>The top-level field names of a JSON object body (and its <c>id</c>, which names what a create makes), then rewinds it for the endpoint.</summary>
    private static async Task<(string[] Names, string? Id)> FieldsAsync(HttpRequest request)
    {
        if (request.ContentLength is 0 or > MaxPeek) return ([], null);
        request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: MaxPeek);
        try
        {
            using var doc = await JsonDocument.ParseAsync(request.Body, default, request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return ([], null);
            var names = doc.RootElement.EnumerateObject().Select(p => p.Name).Distinct(StringComparer.Ordinal).ToArray();
            var id = doc.RootElement.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
            return (names, id);
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException)
        {
            return ([], null); // not JSON, or too large: the endpoint answers it as it would have
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    /// <summary><c>GET /admin/audit?actor=&amp;target_id=&amp;path=&amp;from=&amp;to=&amp;limit=&amp;cursor=</c>, newest first.</summary>
    public async Task ListAsync(HttpContext http)
    {
        var q = http.Request.Query;
        var error = AdminQuery.RangeAndPage(q, out var from, out var to, out var limit, out var before);
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var filter = new AuditFilter
        {
            Actor = AdminQuery.Text(q, "actor"),
            TargetId = AdminQuery.Text(q, "target_id"),
            PathPrefix = AdminQuery.Text(q, "path"),
            From = from,
            To = to,
            Before = before,
            Limit = limit + 1,
        };
        var rows = await store.QueryAsync(filter, http.RequestAborted).ConfigureAwait(false);
        var hasMore = rows.Count > limit;
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.Body, SanjiaJson.Writer);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach (var e in rows.Take(limit))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, e.Id.ToString(CultureInfo.InvariantCulture));
            w.WriteString("object"u8, "audit_entry"u8);
            w.WriteString("created_at"u8, e.Timestamp);
            w.WriteString("actor"u8, e.Actor);
            w.WriteString("via"u8, e.Via);
            if (e.RemoteAddress is { } ip) w.WriteString("remote_address"u8, ip); else w.WriteNull("remote_address"u8);
            w.WriteString("method"u8, e.Method);
            w.WriteString("path"u8, e.Path);
            w.WriteString("route"u8, e.Route);
            if (e.TargetId is { } target) w.WriteString("target_id"u8, target); else w.WriteNull("target_id"u8);
            w.WriteStartArray("fields"u8);
            foreach (var f in e.Fields) w.WriteStringValue(f);
            w.WriteEndArray();
            w.WriteNumber("status"u8, e.Status);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        AdminQuery.WritePageEnd(w, hasMore, hasMore ? rows[limit - 1].Id : 0);
        w.WriteEndObject();
        await w.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}
