using System.Net;
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
        }, disposeHandler: true);
}
