using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Gemini;

/// <summary>
/// Classifies Google's documented error responses (<c>{"error":{"code","message","status"}}</c>): quota and
/// overload (429 <c>RESOURCE_EXHAUSTED</c>, 503 <c>UNAVAILABLE</c>), server errors and timeouts (500, 504
/// <c>DEADLINE_EXCEEDED</c>) may fall back; request errors (400 <c>INVALID_ARGUMENT</c>, <c>FAILED_PRECONDITION</c>, 404)
/// go back to the caller.
/// </summary>
internal static class GeminiUpstreamErrors
{
    public static async Task<GatewayError> FromResponseAsync(HttpResponseMessage response, string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        var code = (int)response.StatusCode;
        var body = await UpstreamErrors.ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var message = body.Length > 0 ? Encoding.UTF8.GetString(body) : UpstreamErrors.ReasonOf(response);
        string? status = null;
        string? reason = null;
        TimeSpan? retryDelay = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
            message = ReadError(root, message, out status, out reason, out retryDelay);
        }
        catch (JsonException)
        {
        }
        // Google says when to come back in the body (google.rpc.RetryInfo); a Retry-After header, if any, wins.
        var retry = UpstreamErrors.RetryAfter(response.Headers, time) ?? retryDelay;
        var label = $"{code} {status}";
        return (code, status) switch
        {
            (429, _) or (_, "RESOURCE_EXHAUSTED") => UpstreamErrors.RateLimited($"{provider} returned {label}: {message}", code, retry),
            (503, _) or (_, "UNAVAILABLE") => UpstreamErrors.Overloaded($"{provider} is unavailable ({label}): {message}", code, retry),
            (504, _) or (_, "DEADLINE_EXCEEDED") => UpstreamErrors.TimedOut($"{provider} timed out ({label}): {message}", code),
            // A bad key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID: the gateway's fault, not the caller's.
            _ when reason is "API_KEY_INVALID" or "API_KEY_SERVICE_BLOCKED" => UpstreamErrors.AuthenticationFailed(provider, code, label, message),
            _ => UpstreamErrors.FromStatus(provider, code, label, message, status, retry),
        };
    }

    private static string ReadError(JsonElement root, string fallback, out string? status, out string? reason, out TimeSpan? retryDelay)
    {
        status = null;
        reason = null;
        retryDelay = null;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var e) || e.ValueKind != JsonValueKind.Object) return fallback;
        if (e.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String) status = s.GetString();
        if (e.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
        {
            foreach (var d in details.EnumerateArray())
            {
                if (d.ValueKind != JsonValueKind.Object) continue;
                if (d.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String) reason ??= r.GetString();
                if (d.TryGetProperty("retryDelay", out var delay) && delay.ValueKind == JsonValueKind.String) retryDelay ??= Duration(delay.GetString()!);
            }
        }
        return e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : fallback;
    }

    /// <summary>A protobuf JSON <c>Duration</c>: seconds with up to nine decimals and an <c>s</c> suffix ("37s", "1.5s").</summary>
    private static TimeSpan? Duration(string value) =>
        value.EndsWith('s') && double.TryParse(value.AsSpan(0, value.Length - 1), System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds) : null;
}
