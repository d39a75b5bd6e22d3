using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.OpenAi;

/// <summary>Reads an OpenAI-compatible vendor's error answer; <see cref="UpstreamErrors.FromStatus"/> says what it means.</summary>
internal static class OpenAiUpstreamErrors
{
    public static async Task<GatewayError> FromResponseAsync(HttpResponseMessage response, string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await UpstreamErrors.ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var (message, upstreamCode) = ReadMessage(response, body);
        var error = UpstreamErrors.FromStatus(provider, status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), message, upstreamCode,
            UpstreamErrors.RetryAfter(response.Headers, time));
        // Some vendors bill a failed generation and say so with a usage object next to the error.
        return ChunkScanner.Scan(body, text: null).Usage is { Total: > 0 } usage ? error with { Usage = usage } : error;
    }

    private static (string Message, string? Code) ReadMessage(HttpResponseMessage response, byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            // OpenAI shape {"error":{"message":...}}; some vendors use {"error":"..."} or {"message":...}.
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out var e))
                {
                    var code = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return (m.GetString()!, code);
                    if (e.ValueKind == JsonValueKind.String) return (e.GetString()!, null);
                }
                if (root.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String) return (msg.GetString()!, null);
            }
        }
        catch (JsonException)
        {
        }
        var text = Encoding.UTF8.GetString(body).Trim();
        if (text.Length == 0) return (UpstreamErrors.ReasonOf(response), null);
        return (text.Length > 500 ? text[..500] + "…" : text, null);
    }
}
