using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Security;

namespace Sanjia.Api.Console;

/// <summary>
/// Web console sessions. Signing in exchanges a key (the master key, or a virtual key with the <c>admin</c> or
/// <c>admin:read</c> scope) for a random session id in an <c>HttpOnly; SameSite=Strict</c> cookie, so the key is not
/// kept in the browser and scripts on the page cannot read the cookie. A request to an admin route that carries no key
/// header but the cookie is authenticated as that key, by the same checks (<see cref="Infrastructure.ApiKeyAuthentication"/>),
/// so a key revoked, expired or stripped of its scope stops its sessions at once. Every state-changing call through a
/// session must echo the session's CSRF token in <c>x-sanjia-csrf</c>: SameSite=Strict already keeps the cookie off
/// cross-site requests, the token also covers same-site pages and older browsers. Sessions last at most
/// <see cref="Lifetime"/>. On one instance they live in memory (a restart signs everyone out); with a shared store
/// (<see cref="ISharedSessionStore"/>: Redis, when configured) every instance behind a load balancer knows them, and
/// signing out ends a session everywhere. The store only ever holds the record encrypted (AES-GCM, bound to the
/// session, with a key derived from the master key, which the instances share), never a usable key.
/// </summary>
public sealed class ConsoleSessions
{
    public const string Cookie = "sanjia_console";
    public const string CsrfHeader = "x-sanjia-csrf";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);
    // Beyond this many live sessions the oldest are dropped: sign-ins cannot grow memory without bound.
    private const int MaxSessions = 10_000;

    private sealed record Session(string Key, string Actor, string Access, string Csrf, DateTimeOffset Expires);

    private readonly TimeProvider _time;
    private readonly ISharedSessionStore? _shared;
    private readonly byte[]? _recordKey;

    // Keyed by the SHA-256 of the session id: the dictionary holds no usable cookie value.
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public ConsoleSessions(TimeProvider time, MasterKey masterKey, ISharedSessionStore? shared = null)
    {
        _time = time;
        _shared = shared;
        if (shared is not null)
        {
            _recordKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(masterKey.Value), 32, info: "sanjia console sessions v1"u8.ToArray());
        }
    }

    /// <summary>Why the shared store could not be used (Redis unreachable): the caller answers 503 with it.</summary>
    public static readonly GatewayError Unavailable = new(GatewayErrorKind.Unavailable,
        "Console sessions are kept in Redis, which cannot be reached; sign in again when it is back, or send the key in a header.") { Code = "session_store_unavailable" };

    /// <summary>Starts a session for a key already checked as an admin key; returns the cookie value and the CSRF token.</summary>
    public async Task<(string Id, string Csrf)> StartAsync(string key, string actor, string access, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var id = Token();
        var csrf = Token();
        var session = new Session(key, actor, access, csrf, now + Lifetime);
        if (_shared is not null)
        {
            var hash = Hash(id);
            await Store(() => _shared.SetAsync(hash, Seal(hash, session), Lifetime, cancellationToken)).ConfigureAwait(false);
            return (id, csrf);
        }
        if (_sessions.Count >= MaxSessions)
        {
            foreach (var (k, s) in _sessions.OrderBy(s => s.Value.Expires).Take(_sessions.Count - MaxSessions + 1)) _sessions.TryRemove(k, out _);
        }
        _sessions[Hash(id)] = session;
        return (id, csrf);
    }

    public async Task EndAsync(HttpContext http)
    {
        if (http.Request.Cookies[Cookie] is not { Length: > 0 } id) return;
        if (_shared is not null) await Store(() => _shared.RemoveAsync(Hash(id), http.RequestAborted)).ConfigureAwait(false);
        else _sessions.TryRemove(Hash(id), out _);
    }

    /// <summary>The session's actor, access and CSRF token (for <c>GET /ui/session</c>), or null.</summary>
    public async Task<(string Actor, string Access, string Csrf)?> DescribeAsync(HttpContext http) =>
        await FindAsync(http).ConfigureAwait(false) is { } s ? (s.Actor, s.Access, s.Csrf) : null;

    /// <summary>
    /// The key of the request's session, when it has one and, for a state-changing method, the right CSRF token;
    /// otherwise null, with the refusal when a session cookie was not accepted (or the shared store could not be read).
    /// Called only for admin routes sent without a key header.
    /// </summary>
    public async Task<(string? Key, GatewayError? Refusal)> KeyForAsync(HttpContext http)
    {
        Session? s;
        try
        {
            s = await FindAsync(http).ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            return (null, Unavailable);
        }
        if (s is null) return (null, null);
        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
            && !FixedEquals(http.Request.Headers[CsrfHeader].ToString(), s.Csrf))
        {
            return (null, new GatewayError(GatewayErrorKind.PermissionDenied,
                $"A change made through a console session must carry the session's CSRF token in '{CsrfHeader}'.") { Code = "csrf_token_invalid" });
        }
        return (s.Key, null);
    }

    private async Task<Session?> FindAsync(HttpContext http)
    {
        if (http.Request.Cookies[Cookie] is not { Length: > 0 } id) return null;
        var hash = Hash(id);
        Session? s;
        if (_shared is not null)
        {
            s = await Store(() => _shared.GetAsync(hash, http.RequestAborted)).ConfigureAwait(false) is { } record ? Open(hash, record) : null;
        }
        else if (!_sessions.TryGetValue(hash, out s))
        {
            return null;
        }
        if (s is null) return null;
        if (s.Expires <= _time.GetUtcNow())
        {
            if (_shared is null) _sessions.TryRemove(hash, out _);
            return null;
        }
        return s;
    }

    // The record in the shared store: nonce, tag, then the fields encrypted; the session's hash is the associated data,
    // so a record cannot be moved under another session's name.
    private byte[] Seal(string hash, Session s)
    {
        var plain = Encoding.UTF8.GetBytes(string.Join('\n', s.Key, s.Actor, s.Access, s.Csrf, s.Expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
        var sealedRecord = new byte[NonceSize + TagSize + plain.Length];
        var nonce = sealedRecord.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_recordKey!, TagSize);
        aes.Encrypt(nonce, plain, sealedRecord.AsSpan(NonceSize + TagSize), sealedRecord.AsSpan(NonceSize, TagSize), Encoding.ASCII.GetBytes(hash));
        return sealedRecord;
    }

    /// <summary>The session in a sealed record, or null when it does not open (another master key, tampered, or malformed).</summary>
    private Session? Open(string hash, byte[] record)
    {
        if (record.Length < NonceSize + TagSize) return null;
        var plain = new byte[record.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(_recordKey!, TagSize);
            aes.Decrypt(record.AsSpan(0, NonceSize), record.AsSpan(NonceSize + TagSize), record.AsSpan(NonceSize, TagSize), plain, Encoding.ASCII.GetBytes(hash));
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        var f = Encoding.UTF8.GetString(plain).Split('\n');
        return f.Length == 5 && long.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            ? new Session(f[0], f[1], f[2], f[3], DateTimeOffset.FromUnixTimeMilliseconds(expires))
            : null;
    }

    private const int NonceSize = 12, TagSize = 16;

    /// <summary>The shared store failed (Redis unreachable): the session routes and admin requests answer <see cref="Unavailable"/>.</summary>
    public sealed class StoreUnavailableException(Exception inner) : Exception("The console's session store cannot be reached.", inner);

    private static Task Store(Func<Task> call) => Store(async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });

    private static async Task<T> Store<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new StoreUnavailableException(ex);
        }
    }

    private static string Token() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Hash(string id) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    private static bool FixedEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
