using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Anthropic;

/// <summary>Classifies Anthropic's documented error responses (<c>{"type":"error","error":{"type","message"}}</c>).</summary>
internal static class AnthropicUpstreamErrors
{
    public static async Task<GatewayError> FromResponseAsync(HttpResponseMessage response, string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await UpstreamErrors.ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var message = body.Length > 0 ? Encoding.UTF8.GetString(body) : UpstreamErrors.ReasonOf(response);
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
        var retry = UpstreamErrors.RetryAfter(response.Headers, time);
        // 529 overloaded_error is Anthropic's own; "prompt is too long: 210000 tokens > 200000 maximum" (400
        // invalid_request_error) fails over like OpenAI's context_length_exceeded, through the shared map.
        return status == 529
            ? UpstreamErrors.Overloaded($"{provider} is overloaded: {message}", status, retry)
            : UpstreamErrors.FromStatus(provider, status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), message, type, retry);
    }
}
