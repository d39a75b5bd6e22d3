using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Core.Json;

namespace Sanjia.Api.Health;

/// <summary>What the host tells the HTTP layer about itself.</summary>
public sealed record GatewayInfo(string Version);

/// <summary>
/// <c>GET /</c> without a key: what this server is and where to go next, for someone who opened the address in a
/// browser or pointed curl at it (instead of a 401 or "Unknown route"). Names and links only; nothing configured.
/// </summary>
public sealed class RootEndpoint(GatewayInfo info)
{
    public const string Route = "/";

    public Task HandleAsync(HttpContext http)
    {
        // Scheme and host as the client sees them (behind a proxy: X-Forwarded-* when Sanjia:ForwardedHeaders is on).
        var request = http.Request;
        var baseUrl = $"{request.Scheme}://{request.Host}{request.PathBase}";
        using var buffer = new MemoryStream(512);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("name", "Sanjia");
            w.WriteString("description", "OpenAI- and Anthropic-compatible LLM gateway");
            w.WriteString("version", info.Version);
            w.WriteString("openai_base_url", baseUrl + "/v1");
            w.WriteString("auth", "Every route except / and /health/* needs a key: 'Authorization: Bearer KEY' or 'x-api-key: KEY'.");
            w.WriteStartObject("links");
            w.WriteString("models", baseUrl + "/v1/models");
            w.WriteString("chat_completions", baseUrl + "/v1/chat/completions");
            w.WriteString("messages", baseUrl + "/v1/messages");
            w.WriteString("health", baseUrl + "/health/ready");
            w.WriteString("docs", "README.md and docs/ in the source repository; 'sanjia --help'");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), http.RequestAborted).AsTask();
    }
}
