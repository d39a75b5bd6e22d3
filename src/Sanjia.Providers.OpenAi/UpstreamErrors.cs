using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Routing;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.OpenAi;

/// <summary>Classifies an upstream failure into a <see cref="GatewayError"/>: what the caller is told, and whether routing may try elsewhere.</summary>
internal static class UpstreamErrors
{
    private const int MaxErrorBody = 64 * 1024;

    public static async Task<GatewayError> FromResponseAsync(HttpResponseMessage response, string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var (message, upstreamCode, usage) = await ReadMessageAsync(response, cancellationToken).ConfigureAwait(false);
        var text = $"{provider} returned {status}: {message}";
        var error = status switch
        {
            429 => new GatewayError(GatewayErrorKind.RateLimited, text)
            {
                UpstreamStatus = status, Code = UpstreamErrorCodes.RateLimited, RetryAfter = RetryAfter(response.Headers, time),
            },
            401 or 403 => new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} refused the gateway's credentials ({status}): {message}")
            {
                UpstreamStatus = status, Code = UpstreamErrorCodes.AuthenticationFailed,
            },
            408 or >= 500 => new GatewayError(GatewayErrorKind.UpstreamFailed, text)
            {
                UpstreamStatus = status, Code = UpstreamErrorCodes.Error, RetryAfter = RetryAfter(response.Headers, time),
            },
            _ => new GatewayError(GatewayErrorKind.UpstreamRejected, message) { UpstreamStatus = status, Code = FailureClassifier.RejectionCode(upstreamCode, message) },
        };
        // Some vendors bill a failed generation and say so with a usage object next to the error.
        return usage is { Total: > 0 } ? error with { Usage = usage } : error;
    }

    public static GatewayError Unreachable(string provider, Uri? uri, Exception ex) =>
        new(GatewayErrorKind.UpstreamUnreachable, $"{provider} ({UpstreamHttp.HostOf(uri)}) could not be reached: {Describe(ex)}") { Code = UpstreamErrorCodes.Unreachable };

    /// <summary><c>Retry-After</c> as seconds or an HTTP date.</summary>
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

    private static async Task<(string Message, string? Code, TokenUsage? Usage)> ReadMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        byte[] body;
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
            body = buffer.ToArray();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return (response.ReasonPhrase ?? ((HttpStatusCode)response.StatusCode).ToString(), null, null);
        }
        var usage = ChunkScanner.Scan(body, text: null).Usage;
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
                    if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return (m.GetString()!, code, usage);
                    if (e.ValueKind == JsonValueKind.String) return (e.GetString()!, null, usage);
                }
                if (root.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String) return (msg.GetString()!, null, usage);
            }
        }
        catch (JsonException)
        {
        }
        var text = Encoding.UTF8.GetString(body).Trim();
        if (text.Length == 0) return (response.ReasonPhrase ?? "no details", null, usage);
        return (text.Length > 500 ? text[..500] + "…" : text, null, usage);
    }

    private static string Describe(Exception ex) => ex switch
    {
        HttpRequestException { HttpRequestError: var e } when e != HttpRequestError.Unknown => e.ToString(),
        _ => ex.InnerException?.Message ?? ex.Message,
    };
}
