using System.Net;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Upstream;

/// <summary>The one way provider adapters talk HTTP to vendors: pooled connections, no per-call overhead they do not need.</summary>
public static class UpstreamHttp
{
    /// <summary>
    /// An invoker over a pooled <see cref="SocketsHttpHandler"/>. Not an <see cref="HttpClient"/>: its per-call
    /// timeout and cancellation-linking machinery is redundant here (the router owns timeouts) and costs on every
    /// request. Responses are not buffered: the caller reads the body (or streams it) itself.
    /// </summary>
    public static HttpMessageInvoker CreateInvoker(TimeoutOptions timeouts, HttpMessageHandler? handler = null) =>
        new(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(timeouts.ConnectSeconds),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = int.MaxValue,
            EnableMultipleHttp2Connections = true,
            // Trace context of the gateway's callers is not the vendors' business.
            ActivityHeadersPropagator = null,
            // A stream given up (client gone, failover) is closed at once: draining it to reuse the connection would
            // keep the vendor generating, and billing, tokens nobody reads.
            MaxResponseDrainSize = 0,
        }, disposeHandler: true);

    /// <summary>
    /// Sends <paramref name="message"/> within the request timeout, lets <paramref name="read"/> turn the response
    /// into an outcome, and maps transport failures to <see cref="GatewayError"/> values: no answer in time, vendor
    /// unreachable, body broken off. The response is disposed afterwards unless <paramref name="read"/> hands it to
    /// a stream it returns (it answers <c>OwnsResponse: true</c>). <paramref name="read"/> gets the timeout-bound token.
    /// </summary>
    public static async ValueTask<ChatOutcome> SendChatAsync(
        this HttpMessageInvoker http,
        HttpRequestMessage message,
        string provider,
        TimeoutOptions timeouts,
        Func<HttpResponseMessage, CancellationToken, ValueTask<(ChatOutcome Outcome, bool OwnsResponse)>> read,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeouts.RequestSeconds));
        HttpResponseMessage? response = null;
        try
        {
            response = await http.SendAsync(message, timeout.Token).ConfigureAwait(false);
            var (outcome, owned) = await read(response, timeout.Token).ConfigureAwait(false);
            if (owned)
            {
                response = null; // owned by the stream now
            }
            return outcome;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Timeout(provider, $"no answer within {timeouts.RequestSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new GatewayError(GatewayErrorKind.UpstreamUnreachable, $"{provider} ({HostOf(message.RequestUri)}) could not be reached: {ex.Message}") { Code = UpstreamErrorCodes.Unreachable };
        }
        catch (IOException ex)
        {
            return new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} broke off the response: {ex.Message}") { Code = UpstreamErrorCodes.Error };
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary><c>host:port</c> of an upstream URL for error messages: never its path, query or user info, where keys may sit.</summary>
    public static string HostOf(Uri? uri) => uri is { IsAbsoluteUri: true } u ? $"{u.Host}:{u.Port}" : "unknown host";

    /// <summary>The vendor did not answer in time (<paramref name="what"/> says which limit).</summary>
    public static GatewayError Timeout(string provider, string what) =>
        new(GatewayErrorKind.UpstreamTimeout, $"{provider} did not answer in time ({what}).") { Code = UpstreamErrorCodes.Timeout };
}
