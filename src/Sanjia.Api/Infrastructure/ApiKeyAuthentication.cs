using Microsoft.AspNetCore.Http;
using Sanjia.Api.Admin;
using Sanjia.Api.Compare;
using Sanjia.Api.Console;
using Sanjia.Abstractions;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Security;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Every route needs a key unless its endpoint metadata says otherwise (<see cref="RouteAccess"/>, set on the route
/// groups in <see cref="SanjiaApi"/>; routing runs first). The key may come as <c>Authorization: Bearer</c>,
/// <c>x-api-key</c> (Anthropic clients) or <c>api-key</c> (Azure clients); all three are treated the same. A virtual
/// key past its <c>expires_at</c> is refused; admin routes take the master key or a key with the <c>admin</c> scope,
/// and <c>admin:read</c> keys for GET (docs/decisions/0004-key-model.md), or a web console session cookie standing for
/// such a key (<see cref="ConsoleSessions"/>; looked at only on admin routes sent without a key). Every refusal is written by
/// <see cref="ErrorWriter"/>, in the route's dialect.
/// </summary>
public sealed class ApiKeyAuthentication(RequestDelegate next, MasterKey masterKey, VirtualKeyCache virtualKeys, TimeProvider time, EvaluationCallers? evaluationCallers = null,
    ConsoleSessions? consoleSessions = null, MetricsAccess? metrics = null)
{
    public Task InvokeAsync(HttpContext context)
    {
        // One metadata lookup on the matched endpoint (cached per endpoint by the routing system).
        var access = RouteAccess.Of(context);
        if (access == RouteAccess.Anonymous)
        {
            return next(context);
        }
        var key = ReadKey(context.Request.Headers);
        if (access == RouteAccess.Metrics)
        {
            // Its own rule (MetricsAccess): a network, the metrics token or the master key; virtual keys never.
            return metrics?.Refusal(context, key, masterKey) is { } refusal ? ErrorWriter.WriteAsync(context, refusal) : next(context);
        }
        if (key.IsEmpty && access == RouteAccess.Admin && consoleSessions is not null && context.Request.Cookies.ContainsKey(ConsoleSessions.Cookie))
        {
            return ThroughSessionAsync(context, consoleSessions);
        }
        return Authenticate(context, key, access);
    }

    /// <summary>
    /// The web console: a session cookie stands for the key it was opened with, checked as a header key is (so
    /// revocation, expiry and scopes apply at once); writes must also carry the session's CSRF token.
    /// </summary>
    private async Task ThroughSessionAsync(HttpContext context, ConsoleSessions sessions)
    {
        var (sessionKey, refusal) = await sessions.KeyForAsync(context).ConfigureAwait(false);
        if (refusal is not null)
        {
            await ErrorWriter.WriteAsync(context, refusal).ConfigureAwait(false);
            return;
        }
        if (sessionKey is not null) context.Items[AdminAudit.ViaItem] = "console";
        await Authenticate(context, (sessionKey ?? "").AsSpan(), RouteAccess.Admin).ConfigureAwait(false);
    }

    private Task Authenticate(HttpContext context, ReadOnlySpan<char> key, RouteAccess access)
    {
        if (key.IsEmpty)
        {
            return ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.Authentication,
                "You didn't provide an API key. Send it as 'Authorization: Bearer KEY', 'x-api-key: KEY' or 'api-key: KEY'.") { Code = "missing_api_key" });
        }
        var admin = access == RouteAccess.Admin;
        if (masterKey.Matches(key))
        {
            if (admin && masterKey.IsWeak)
            {
                return ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.PermissionDenied,
                    "The admin API is disabled because the master key is empty, a well-known default or too simple. Set Sanjia:MasterKey to a long random secret (or leave it unset to have one generated) and restart.")
                { Code = "weak_master_key" });
            }
            context.Features.Set(IsOwnEvaluation(context) ? Caller.Master with { IsEvaluation = true } : Caller.Master);
            return next(context);
        }
        // Virtual keys: one SHA-256 and a dictionary lookup; revoked keys are gone from the cache at once.
        if (virtualKeys.FindBySecret(key) is not { } virtualKey)
        {
            return ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.Authentication,
                "Incorrect API key provided.") { Code = "invalid_api_key" });
        }
        // One comparison, and a clock read only for keys that expire.
        if (virtualKey.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            return ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.Authentication,
                $"This API key expired at {expires.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}. Ask for a new key, or for this one's expires_at to be extended.")
            { Code = "key_expired" });
        }
        var adminAccess = AdminAccess.None;
        var evaluation = false;
        if (virtualKey.Scopes.Count > 0)
        {
            adminAccess = virtualKey.HasScope(KeyScopes.Admin) ? AdminAccess.Full : virtualKey.HasScope(KeyScopes.AdminRead) ? AdminAccess.Read : AdminAccess.None;
            evaluation = virtualKey.HasScope(KeyScopes.Evaluation);
        }
        if (admin && AdminRefusal(adminAccess, context.Request.Method) is { } refused)
        {
            return ErrorWriter.WriteAsync(context, refused);
        }
        context.Features.Set(new Caller(virtualKey.Id, virtualKey.TeamId, IsMaster: false) { Admin = adminAccess, IsEvaluation = evaluation || IsOwnEvaluation(context), Guardrails = virtualKey.Guardrails.Count > 0 ? virtualKey.Guardrails : null });
        return next(context);
    }

    /// <summary>
    /// The gateway's own comparison runs (<c>POST /admin/compare</c>) mark their calls with a per-process secret
    /// (<see cref="EvaluationCallers"/>); the header alone, without that secret, marks nothing.
    /// </summary>
    private bool IsOwnEvaluation(HttpContext context) =>
        evaluationCallers is not null && context.Request.Headers.TryGetValue(EvaluationCallers.Header, out var value) && evaluationCallers.Matches(value);

    /// <summary>Why a caller with this admin access may not make this admin request, or null when it may.</summary>
    public static GatewayError? AdminRefusal(AdminAccess access, string method) => access switch
    {
        AdminAccess.Full => null,
        AdminAccess.Read when HttpMethods.IsGet(method) || HttpMethods.IsHead(method) => null,
        AdminAccess.Read => new GatewayError(GatewayErrorKind.PermissionDenied,
            $"This key has the '{KeyScopes.AdminRead}' scope: it may only read (GET) the admin API.") { Code = "admin_read_only" },
        _ => new GatewayError(GatewayErrorKind.PermissionDenied,
            $"The admin API needs the master key or a key with the '{KeyScopes.Admin}' (or, to read, '{KeyScopes.AdminRead}') scope.") { Code = "admin_only" },
    };

    /// <summary>Whether <paramref name="key"/> would be let in on a model route: the master key, or a virtual key neither revoked nor expired.</summary>
    public static bool Admits(ReadOnlySpan<char> key, MasterKey masterKey, VirtualKeyCache virtualKeys, TimeProvider time) =>
        masterKey.Matches(key) || (virtualKeys.FindBySecret(key) is { } k && (k.ExpiresAt is not { } expires || expires > time.GetUtcNow()));

    public static ReadOnlySpan<char> ReadKey(IHeaderDictionary headers)
    {
        var authorization = headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            var span = authorization.AsSpan().Trim();
            return span.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? span[7..].Trim() : span;
        }
        var apiKey = headers["x-api-key"].ToString();
        if (apiKey.Length > 0)
        {
            return apiKey.AsSpan().Trim();
        }
        return headers["api-key"].ToString().AsSpan().Trim();
    }
}
