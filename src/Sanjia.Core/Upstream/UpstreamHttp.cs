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

    /// <summary><c>host:port</c> of an upstream URL for error messages: never its path, query or user info, where keys may sit.</summary>
    public static string HostOf(Uri? uri) => uri is { IsAbsoluteUri: true } u ? $"{u.Host}:{u.Port}" : "unknown host";
}

/// <summary>
/// What one kind of upstream call does with the answer (chat, embeddings, each vendor's translation); the transport,
/// the timeout and the failure mapping are <see cref="UpstreamClient.SendAsync"/>'s.
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
