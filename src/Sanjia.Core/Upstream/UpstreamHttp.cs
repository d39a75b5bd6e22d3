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
    /// The one upstream send, for every kind of call: sends <paramref name="message"/> within the request timeout,
    /// turns a non-success status into the vendor's error (<see cref="IUpstreamExchange{TOutcome}.ErrorAsync"/>),
    /// hands a success to <paramref name="exchange"/> (whole body, or the open stream), and maps transport failures
    /// to <see cref="GatewayError"/> values: no answer in time, vendor unreachable, body broken off mid-read. The
    /// message is disposed afterwards, and the response too unless the exchange took it for a stream. The exchange
    /// is a struct so that a call costs no delegate or closure.
    /// </summary>
    public static async ValueTask<TOutcome> SendAsync<TExchange, TOutcome>(
        this HttpMessageInvoker http,
        HttpRequestMessage message,
        TExchange exchange,
        string provider,
        TimeoutOptions timeouts,
        CancellationToken cancellationToken)
        where TExchange : struct, IUpstreamExchange<TOutcome>
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeouts.RequestSeconds));
        HttpResponseMessage? response = null;
        try
        {
            response = await http.SendAsync(message, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return exchange.Fail(await exchange.ErrorAsync(response, timeout.Token).ConfigureAwait(false));
            }
            if (exchange.Streams)
            {
                if (exchange.RefuseStream(response) is { } refused)
                {
                    return exchange.Fail(refused);
                }
                var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                var streamed = exchange.Stream(response, body);
                response = null; // owned by the stream now
                return streamed;
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            return exchange.Complete(bytes);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return exchange.Fail(UpstreamErrors.Timeout(provider, $"no answer within {timeouts.RequestSeconds:0.#} s"));
        }
        // Once the headers are in, a broken connection is a body cut mid-read (HttpContent wraps the IOException in an
        // HttpRequestException), not an unreachable vendor: the vendor was reached, and may have billed the call.
        catch (Exception ex) when (ex is HttpRequestException or IOException && response is not null)
        {
            return exchange.Fail(UpstreamErrors.BrokeOff(provider, ex));
        }
        catch (HttpRequestException ex)
        {
            return exchange.Fail(UpstreamErrors.Unreachable(provider, message.RequestUri, ex));
        }
        catch (IOException ex)
        {
            return exchange.Fail(UpstreamErrors.BrokeOff(provider, ex));
        }
        finally
        {
            response?.Dispose();
            message.Dispose();
        }
    }

    /// <summary><c>host:port</c> of an upstream URL for error messages: never its path, query or user info, where keys may sit.</summary>
    public static string HostOf(Uri? uri) => uri is { IsAbsoluteUri: true } u ? $"{u.Host}:{u.Port}" : "unknown host";

    /// <inheritdoc cref="UpstreamErrors.Timeout"/>
    public static GatewayError Timeout(string provider, string what) => UpstreamErrors.Timeout(provider, what);
}

/// <summary>
/// What one kind of upstream call does with the answer (chat, embeddings, each vendor's translation); the transport,
/// the timeout and the failure mapping are <see cref="UpstreamHttp.SendAsync"/>'s.
/// </summary>
public interface IUpstreamExchange<TOutcome>
{
    /// <summary>True: a success is handed over as an open stream (<see cref="Stream"/>); false: read whole (<see cref="Complete"/>).</summary>
    bool Streams { get; }

    /// <summary>The vendor's error for a non-success status: its error body read, then <see cref="UpstreamErrors"/>.</summary>
    Task<GatewayError> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken);

    /// <summary>Why a successful answer to a streaming request cannot be streamed (e.g. it is not an event stream); null if it can.</summary>
    GatewayError? RefuseStream(HttpResponseMessage response);

    /// <summary>The stream outcome; it owns <paramref name="response"/> from here.</summary>
    TOutcome Stream(HttpResponseMessage response, Stream body);

    /// <summary>The outcome of a whole answer.</summary>
    TOutcome Complete(byte[] body);

    TOutcome Fail(GatewayError error);
}
