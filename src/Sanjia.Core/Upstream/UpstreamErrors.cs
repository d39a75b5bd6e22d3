using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Sanjia.Abstractions;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Upstream;

/// <summary>
/// The one vocabulary of upstream failures: every provider and translator builds its <see cref="GatewayError"/> here,
/// so each <see cref="UpstreamErrorCodes"/> value comes with the same <see cref="GatewayErrorKind"/> wherever it is
/// made, and <see cref="FailureClassifier"/> decides on those codes. A vendor adapter reads its own error body and
/// handles its own statuses (Anthropic 529, Gemini's <c>status</c> strings); the rest goes through <see cref="FromStatus"/>.
/// </summary>
public static class UpstreamErrors
{
    /// <summary>Enough for any vendor's error JSON; a larger body is cut here rather than read into memory.</summary>
    private const int MaxErrorBody = 64 * 1024;

    /// <summary>
    /// The shared map from an upstream HTTP status to an error: 429 rate limit, 401/403 the gateway's credentials,
    /// 408 and 5xx upstream failure (each may fall back), any other 4xx rejected, with the code
    /// <see cref="FailureClassifier.RejectionCode"/> gives it. <paramref name="label"/> is how the status is shown
    /// ("500", or "500 INTERNAL" with a vendor's status name); <paramref name="vendorCode"/> the vendor's own error code.
    /// </summary>
    public static GatewayError FromStatus(string provider, int status, string label, string message, string? vendorCode, TimeSpan? retryAfter) => status switch
    {
        429 => RateLimited($"{provider} returned {label}: {message}", status, retryAfter),
        401 or 403 => AuthenticationFailed(provider, status, label, message),
        408 or >= 500 => Failed($"{provider} returned {label}: {message}", status, retryAfter),
        _ => Rejected(message, status, vendorCode),
    };

    public static GatewayError RateLimited(string text, int status, TimeSpan? retryAfter) =>
        new(GatewayErrorKind.RateLimited, text) { UpstreamStatus = status, Code = UpstreamErrorCodes.RateLimited, RetryAfter = retryAfter };

    /// <summary>The vendor says it is overloaded (a server condition, not the caller's rate limit).</summary>
    public static GatewayError Overloaded(string text, int status, TimeSpan? retryAfter) =>
        new(GatewayErrorKind.UpstreamOverloaded, text) { UpstreamStatus = status, Code = UpstreamErrorCodes.Overloaded, RetryAfter = retryAfter };

    public static GatewayError AuthenticationFailed(string provider, int status, string label, string message) =>
        new(GatewayErrorKind.UpstreamFailed, $"{provider} refused the gateway's credentials ({label}): {message}") { UpstreamStatus = status, Code = UpstreamErrorCodes.AuthenticationFailed };

    /// <summary>5xx or 408: the upstream failed (<paramref name="status"/> null for a failure reported without one).</summary>
    public static GatewayError Failed(string text, int? status = null, TimeSpan? retryAfter = null) =>
        new(GatewayErrorKind.UpstreamFailed, text) { UpstreamStatus = status, Code = UpstreamErrorCodes.Error, RetryAfter = retryAfter };

    /// <summary>A 4xx the caller sees as is, unless it says the prompt does not fit or the content filter refused it.</summary>
    public static GatewayError Rejected(string message, int status, string? vendorCode) =>
        new(GatewayErrorKind.UpstreamRejected, message) { UpstreamStatus = status, Code = FailureClassifier.RejectionCode(vendorCode, message) };

    /// <summary>The vendor did not answer in time (<paramref name="what"/> says which limit).</summary>
    public static GatewayError Timeout(string provider, string what) =>
        new(GatewayErrorKind.UpstreamTimeout, $"{provider} did not answer in time ({what}).") { Code = UpstreamErrorCodes.Timeout };

    /// <summary>The vendor reported a timeout of its own (Gemini 504 <c>DEADLINE_EXCEEDED</c>).</summary>
    public static GatewayError TimedOut(string text, int status) =>
        new(GatewayErrorKind.UpstreamTimeout, text) { UpstreamStatus = status, Code = UpstreamErrorCodes.Timeout };

    public static GatewayError Unreachable(string provider, Uri? uri, Exception ex) =>
        new(GatewayErrorKind.UpstreamUnreachable, $"{provider} ({UpstreamHttp.HostOf(uri)}) could not be reached: {Describe(ex)}") { Code = UpstreamErrorCodes.Unreachable };

    /// <summary>The connection broke while the answer was read (a body cut mid-read).</summary>
    public static GatewayError BrokeOff(string provider, Exception ex) =>
        new(GatewayErrorKind.UpstreamFailed, $"{provider} broke off the response: {(ex is HttpRequestException { InnerException: { } inner } ? inner.Message : ex.Message)}") { Code = UpstreamErrorCodes.Error };

    /// <summary>An answer in the wrong shape: not JSON, not the vendor's object, not an event stream.</summary>
    public static GatewayError ProtocolError(string text) =>
        new(GatewayErrorKind.UpstreamFailed, text) { Code = UpstreamErrorCodes.ProtocolError };

    /// <summary>A stream event that does not parse.</summary>
    public static GatewayError MalformedChunk(string text) =>
        new(GatewayErrorKind.UpstreamFailed, text) { Code = UpstreamErrorCodes.MalformedChunk };

    /// <summary>An error event inside a stream that had started well; <paramref name="kind"/> as the vendor's error type says.</summary>
    public static GatewayError MidStream(GatewayErrorKind kind, string text) =>
        new(kind, text) { Code = UpstreamErrorCodes.Error };

    /// <summary><c>Retry-After</c> as seconds or an HTTP date (never negative), else OpenAI's <c>retry-after-ms</c> hint.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, TimeProvider time)
    {
        if (headers.RetryAfter is { } ra)
        {
            if (ra.Delta is { } delta) return delta;
            if (ra.Date is { } date)
            {
                var d = date - time.GetUtcNow();
                return d > TimeSpan.Zero ? d : TimeSpan.Zero;
            }
        }
        // Some vendors only send the OpenAI-style millisecond hint.
        if (headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
        {
            return TimeSpan.FromMilliseconds(v);
        }
        return null;
    }

    /// <summary>
    /// An error answer's body, at most 64 KB; empty when the connection broke while it was read (the status still
    /// says what happened, so a cut error body is no reason to report something else).
    /// </summary>
    public static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int n;
            while (buffer.Length < MaxErrorBody && (n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, n);
            }
            return buffer.ToArray();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return [];
        }
    }

    /// <summary>The status line's text when the body says nothing.</summary>
    public static string ReasonOf(HttpResponseMessage response) => response.ReasonPhrase ?? ((HttpStatusCode)response.StatusCode).ToString();

    private static string Describe(Exception ex) => ex switch
    {
        HttpRequestException { HttpRequestError: var e } when e != HttpRequestError.Unknown => e.ToString(),
        _ => ex.InnerException?.Message ?? ex.Message,
    };
}
