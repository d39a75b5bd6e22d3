using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;

namespace Sanjia.Api.Console;

/// <summary>
/// Web console sessions. Signing in exchanges a key (the master key, or a virtual key with the <c>admin</c> or
/// <c>admin:read</c> scope) for a random session id in an <c>HttpOnly; SameSite=Strict</c> cookie, so the key is not
/// kept in the browser and scripts on the page cannot read the cookie. A request to an admin route that carries no key
/// header but the cookie is authenticated as that key, by the same checks (<see cref="Infrastructure.ApiKeyAuthentication"/>),
/// so a key revoked, expired or stripped of its scope stops its sessions at once. Every state-changing call through a
/// session must echo the session's CSRF token in <c>x-sanjia-csrf</c>: SameSite=Strict already keeps the cookie off
/// cross-site requests, the token also covers same-site pages and older browsers. Sessions live in memory (a restart
/// signs everyone out), for at most <see cref="Lifetime"/>.
/// </summary>
public sealed class ConsoleSessions(TimeProvider time)
{
    public const string Cookie = "sanjia_console";
    public const string CsrfHeader = "x-sanjia-csrf";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);
    // Beyond this many live sessions the oldest are dropped: sign-ins cannot grow memory without bound.
    private const int MaxSessions = 10_000;

    private sealed record Session(string Key, string Actor, string Access, string Csrf, DateTimeOffset Expires);

    // Keyed by the SHA-256 of the session id: the dictionary holds no usable cookie value.
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    /// <summary>Starts a session for a key already checked as an admin key; returns the cookie value and the CSRF token.</summary>
    public (string Id, string Csrf) Start(string key, string actor, string access)
    {
        var now = time.GetUtcNow();
        if (_sessions.Count >= MaxSessions)
        {
            foreach (var (k, s) in _sessions.OrderBy(s => s.Value.Expires).Take(_sessions.Count - MaxSessions + 1)) _sessions.TryRemove(k, out _);
        }
        var id = Token();
        var csrf = Token();
        _sessions[Hash(id)] = new Session(key, actor, access, csrf, now + Lifetime);
        return (id, csrf);
    }

    public void End(HttpContext http)
    {
        if (http.Request.Cookies[Cookie] is { Length: > 0 } id) _sessions.TryRemove(Hash(id), out _);
    }

    /// <summary>The session's actor, access and CSRF token (for <c>GET /ui/session</c>), or null.</summary>
    public (string Actor, string Access, string Csrf)? Describe(HttpContext http) =>
        Find(http) is { } s ? (s.Actor, s.Access, s.Csrf) : null;

    /// <summary>
    /// The key of the request's session, when it has one and, for a state-changing method, the right CSRF token;
    /// <paramref name="refusal"/> says why a session cookie was not accepted. Called only for admin routes sent
    /// without a key header.
    /// </summary>
    public string? KeyFor(HttpContext http, out GatewayError? refusal)
    {
        refusal = null;
        if (Find(http) is not { } s) return null;
        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
            && !FixedEquals(http.Request.Headers[CsrfHeader].ToString(), s.Csrf))
        {
            refusal = new GatewayError(GatewayErrorKind.PermissionDenied,
                $"A change made through a console session must carry the session's CSRF token in '{CsrfHeader}'.") { Code = "csrf_token_invalid" };
            return null;
        }
        return s.Key;
    }

    private Session? Find(HttpContext http)
    {
        if (http.Request.Cookies[Cookie] is not { Length: > 0 } id) return null;
        var hash = Hash(id);
        if (!_sessions.TryGetValue(hash, out var s)) return null;
        if (s.Expires <= time.GetUtcNow())
        {
            _sessions.TryRemove(hash, out _);
            return null;
        }
        return s;
    }

    private static string Token() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Hash(string id) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    private static bool FixedEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
