using System.Collections.Frozen;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Builder;
using Sanjia.Abstractions;
using Sanjia.Api.Admin;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Keys;
using Sanjia.Core.Security;

namespace Sanjia.Api.Console;

/// <summary>
/// The web console at <c>/ui</c>: static files embedded in this assembly (no Node at run time, no CDN), compressed
/// once at start-up and served gzip-compressed to clients that accept it, with an ETag (<c>no-cache</c>: the browser
/// revalidates and gets 304 when nothing changed) and a strict Content-Security-Policy; and the session routes
/// (<see cref="ConsoleSessions"/>). Every figure the pages show comes from the admin API.
/// </summary>
public sealed class ConsoleEndpoints(ConsoleSessions sessions, MasterKey masterKey, VirtualKeyCache keys, TimeProvider time)
{
    public const string Route = "/ui";
    private const string ResourcePrefix = "console/";

    private sealed record Asset(string ContentType, byte[] Plain, byte[] Gzip, string ETag);

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        var found = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var s = assembly.GetManifestResourceStream(name)!;
            using var plain = new MemoryStream();
            s.CopyTo(plain);
            using var gz = new MemoryStream();
            using (var z = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(plain.GetBuffer(), 0, (int)plain.Length);
            var bytes = plain.ToArray();
            var file = name[ResourcePrefix.Length..];
            found[file] = new Asset(ContentTypeOf(file), bytes, gz.ToArray(), $"\"{Convert.ToHexString(SHA256.HashData(bytes))[..16]}\"");
        }
        return found.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The embedded files and their compressed sizes (for the first-load budget test).</summary>
    public static IReadOnlyDictionary<string, int> GzipSizes => Assets.Value.ToDictionary(a => a.Key, a => a.Value.Gzip.Length);

    private static string ContentTypeOf(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    public void Map(IEndpointRouteBuilder anonymous)
    {
        anonymous.MapGet(Route, http => ServeAsync(http, "index.html"));
        anonymous.MapGet(Route + "/{file}", (HttpContext http, string file) => ServeAsync(http, file));
        anonymous.MapPost(Route + "/session", http => WithStoreAsync(http, SignInAsync));
        anonymous.MapGet(Route + "/session", http => WithStoreAsync(http, DescribeAsync));
        anonymous.MapDelete(Route + "/session", http => WithStoreAsync(http, SignOutAsync));
    }

    /// <summary>A session route; with sessions in Redis, one that cannot be reached answers 503 <c>session_store_unavailable</c>.</summary>
    private static async Task WithStoreAsync(HttpContext http, Func<HttpContext, Task> route)
    {
        try
        {
            await route(http).ConfigureAwait(false);
        }
        catch (ConsoleSessions.StoreUnavailableException) when (!http.Response.HasStarted)
        {
            await OpenAiErrorWriter.WriteAsync(http, ConsoleSessions.Unavailable).ConfigureAwait(false);
        }
    }

    private static Task ServeAsync(HttpContext http, string file)
    {
        if (file == "session" || !Assets.Value.TryGetValue(file, out var asset))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        var h = http.Response.Headers;
        h.ETag = asset.ETag;
        h.CacheControl = "no-cache";
        h.Vary = "Accept-Encoding";
        h.XContentTypeOptions = "nosniff";
        h["Referrer-Policy"] = "no-referrer";
        // Only this origin's scripts and styles; no inline script, no framing.
        h.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        if (http.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        http.Response.ContentType = asset.ContentType;
        var gzip = http.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase);
        var bytes = gzip ? asset.Gzip : asset.Plain;
        if (gzip) h.ContentEncoding = "gzip";
        http.Response.ContentLength = bytes.Length;
        return HttpMethods.IsHead(http.Request.Method) ? Task.CompletedTask : http.Response.Body.WriteAsync(bytes, http.RequestAborted).AsTask();
    }

    /// <summary><c>POST /ui/session {"key"}</c>: the master key or a virtual key with an admin scope, exchanged for the session cookie.</summary>
    private async Task SignInAsync(HttpContext http)
    {
        if (await AdminHttp.ReadObjectAsync(http, 16 * 1024, null).ConfigureAwait(false) is not { } body) return;
        if (body["key"] is { } node && (node is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            await AdminHttp.BadRequestAsync(http, "'key' must be a string: the master key or a key with an admin scope.", "key", "invalid_type").ConfigureAwait(false);
            return;
        }
        var key = (AdminHttp.Text(body, "key") ?? "").Trim();
        if (key.Length == 0)
        {
            // No key is a form sent empty, not a wrong key: say what it needs.
            await AdminHttp.BadRequestAsync(http, "A key is required: the master key or a key with the 'admin' or 'admin:read' scope.", "key", "missing_required_parameter").ConfigureAwait(false);
            return;
        }
        string actor, access;
        if (key.Length > 0 && masterKey.Matches(key))
        {
            if (masterKey.IsWeak)
            {
                await OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.PermissionDenied,
                    "The admin API (and so the console) is disabled because the master key is weak. Set Sanjia:MasterKey to a long random secret and restart.") { Code = "weak_master_key" }).ConfigureAwait(false);
                return;
            }
            (actor, access) = ("master", "full");
        }
        else if (key.Length > 0 && keys.FindBySecret(key) is { } k && !(k.ExpiresAt <= time.GetUtcNow()))
        {
            if (!k.HasScope(KeyScopes.Admin) && !k.HasScope(KeyScopes.AdminRead))
            {
                await OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.PermissionDenied,
                    $"This key has no admin scope: the console needs the master key or a key with '{KeyScopes.Admin}' or '{KeyScopes.AdminRead}'.") { Code = "admin_only" }).ConfigureAwait(false);
                return;
            }
            (actor, access) = (k.Id, k.HasScope(KeyScopes.Admin) ? "full" : "read");
        }
        else
        {
            await OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.Authentication, "Incorrect, revoked or expired key.") { Code = "invalid_api_key" }).ConfigureAwait(false);
            return;
        }
        var (id, csrf) = await sessions.StartAsync(key, actor, access, http.RequestAborted).ConfigureAwait(false);
        http.Response.Cookies.Append(ConsoleSessions.Cookie, id, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
            MaxAge = ConsoleSessions.Lifetime,
        });
        await AdminHttp.WriteJsonAsync(http, Describe(actor, access, csrf)).ConfigureAwait(false);
    }

    private static JsonObject Describe(string actor, string access, string csrf) =>
        new() { ["object"] = "console_session", ["actor"] = actor, ["access"] = access, ["csrf_token"] = csrf };

    private async Task DescribeAsync(HttpContext http)
    {
        if (await sessions.DescribeAsync(http).ConfigureAwait(false) is not { } s)
        {
            await OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.Authentication, "Not signed in.") { Code = "no_session" }).ConfigureAwait(false);
            return;
        }
        http.Response.Headers.CacheControl = "no-store";
        await AdminHttp.WriteJsonAsync(http, Describe(s.Actor, s.Access, s.Csrf)).ConfigureAwait(false);
    }

    private async Task SignOutAsync(HttpContext http)
    {
        // Signing out is a change too: without the token a cross-site page could end a session.
        if (await sessions.DescribeAsync(http).ConfigureAwait(false) is { } s && http.Request.Headers[ConsoleSessions.CsrfHeader].ToString() != s.Csrf)
        {
            await OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.PermissionDenied, "Missing CSRF token.") { Code = "csrf_token_invalid" }).ConfigureAwait(false);
            return;
        }
        await sessions.EndAsync(http).ConfigureAwait(false);
        http.Response.Cookies.Delete(ConsoleSessions.Cookie, new CookieOptions { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict });
        http.Response.StatusCode = StatusCodes.Status204NoContent;
    }
}
