using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Routing;

namespace Sanjia.Providers.Anthropic;

/// <summary>Classifies Anthropic's documented error responses (<c>{"type":"error","error":{"type","message"}}</c>).</summary>
internal static class AnthropicUpstreamErrors
{
    public static async Task<GatewayError> FromResponseAsync(HttpResponseMessage response, string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var message = Encoding.UTF8.GetString(body);
        string? type = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                if (e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) message = m.GetString()!;
                if (e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString();
            }
        }
        catch (JsonException)
        {
        }
        TimeSpan? retry = response.Headers.RetryAfter?.Delta;
        if (response.Headers.RetryAfter?.Date is { } date) retry = date - time.GetUtcNow();
        return status switch
        {
            429 => new GatewayError(GatewayErrorKind.RateLimited, $"{provider} returned 429: {message}") { UpstreamStatus = status, Code = UpstreamErrorCodes.RateLimited, RetryAfter = retry },
            529 => new GatewayError(GatewayErrorKind.UpstreamOverloaded, $"{provider} is overloaded: {message}") { UpstreamStatus = status, Code = UpstreamErrorCodes.Overloaded, RetryAfter = retry },
            401 or 403 => new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} refused the gateway's credentials ({status}): {message}") { UpstreamStatus = status, Code = UpstreamErrorCodes.AuthenticationFailed },
            408 or >= 500 => new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} returned {status}: {message}") { UpstreamStatus = status, Code = UpstreamErrorCodes.Error },
            // "prompt is too long: 210000 tokens > 200000 maximum" (400 invalid_request_error) fails over like OpenAI's context_length_exceeded.
            _ => new GatewayError(GatewayErrorKind.UpstreamRejected, message) { UpstreamStatus = status, Code = FailureClassifier.RejectionCode(type, message) },
        };
    }
}
