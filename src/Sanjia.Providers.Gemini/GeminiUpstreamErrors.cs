using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Routing;

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
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var message = Encoding.UTF8.GetString(body);
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
        var retry = response.Headers.RetryAfter?.Delta ?? retryDelay;
        if (response.Headers.RetryAfter?.Date is { } date) retry = date - time.GetUtcNow();
        return (code, status) switch
        {
            (429, _) or (_, "RESOURCE_EXHAUSTED") => new GatewayError(GatewayErrorKind.RateLimited, $"{provider} returned {code} {status}: {message}") { UpstreamStatus = code, Code = UpstreamErrorCodes.RateLimited, RetryAfter = retry },
            (503, _) or (_, "UNAVAILABLE") => new GatewayError(GatewayErrorKind.UpstreamOverloaded, $"{provider} is unavailable ({code} {status}): {message}") { UpstreamStatus = code, Code = UpstreamErrorCodes.Overloaded, RetryAfter = retry },
            (504, _) or (_, "DEADLINE_EXCEEDED") => new GatewayError(GatewayErrorKind.UpstreamTimeout, $"{provider} timed out ({code} {status}): {message}") { UpstreamStatus = code, Code = UpstreamErrorCodes.Timeout },
            // A bad key is 400 INVALID_ARGUMENT with reason API_KEY_INVALID: the gateway's fault, not the caller's.
            _ when reason is "API_KEY_INVALID" or "API_KEY_SERVICE_BLOCKED" || code is 401 or 403 => new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} refused the gateway's credentials ({code} {status}): {message}") { UpstreamStatus = code, Code = UpstreamErrorCodes.AuthenticationFailed },
            (408 or >= 500, _) => new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} returned {code} {status}: {message}") { UpstreamStatus = code, Code = UpstreamErrorCodes.Error },
            _ => new GatewayError(GatewayErrorKind.UpstreamRejected, message) { UpstreamStatus = code, Code = FailureClassifier.RejectionCode(status, message) },
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
