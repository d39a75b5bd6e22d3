using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Security;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Every route needs a key except the explicit allow-list below. The key may come as <c>Authorization: Bearer</c>,
/// <c>x-api-key</c> (Anthropic clients) or <c>api-key</c> (Azure clients); all three are treated the same.
/// </summary>
public sealed class ApiKeyAuthentication(RequestDelegate next, MasterKey masterKey, VirtualKeyCache virtualKeys)
{
    /// <summary>The only routes served without a key.</summary>
    public static readonly IReadOnlySet<string> AnonymousPaths = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "/", // what this server is and where to go next (RootEndpoint)
        "/health/live",
        "/health/ready",
    };

    public Task InvokeAsync(HttpContext context)
    {
        if (AnonymousPaths.Contains(context.Request.Path.Value ?? ""))
        {
            return next(context);
        }
        var key = ReadKey(context.Request.Headers);
        if (key.IsEmpty)
        {
            return ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.Authentication,
                "You didn't provide an API key. Send it as 'Authorization: Bearer KEY', 'x-api-key: KEY' or 'api-key: KEY'.") { Code = "missing_api_key" });
        }
        var admin = IsAdminPath(context.Request.Path);
        if (masterKey.Matches(key))
        {
            if (admin && masterKey.IsWeak)
            {
                return OpenAiErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.PermissionDenied,
                    "The admin API is disabled because the master key is empty, a well-known default or too simple. Set Sanjia:MasterKey to a long random secret (or leave it unset to have one generated) and restart.")
                { Code = "weak_master_key" });
            }
            context.Features.Set(Caller.Master);
            return next(context);
        }
        // Virtual keys: one SHA-256 and a dictionary lookup; revoked keys are gone from the cache at once.
        if (virtualKeys.FindBySecret(key) is not { } virtualKey)
        {
            return ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.Authentication,
                "Incorrect API key provided.") { Code = "invalid_api_key" });
        }
        if (admin)
        {
            return OpenAiErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorKind.PermissionDenied,
                "The admin API needs the master key; virtual keys cannot use it.") { Code = "admin_only" });
        }
        context.Features.Set(new Caller(virtualKey.Id, virtualKey.TeamId, IsMaster: false));
        return next(context);
    }

    public static bool IsAdminPath(PathString path) => path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase);

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
