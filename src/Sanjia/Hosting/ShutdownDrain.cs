using Sanjia.Core.Configuration;
using Sanjia.Core.Routing;
using Sanjia.Abstractions;

namespace Sanjia.Hosting;

/// <summary>
/// Graceful shutdown: on SIGTERM or Ctrl-C, Kestrel stops accepting connections and requests in flight get
/// <see cref="SanjiaOptions.ShutdownDrainSeconds"/> to finish; then the drain token ends every stream still open with
/// the protocol's error event (and its ledger row, written before the ledger stops: the server is the first hosted
/// service to stop). The host's own shutdown timeout is the drain time plus <see cref="Grace"/> for those last
/// events and the ledger's final batch; only what is still running after that is cut.
/// </summary>
internal sealed partial class ShutdownDrain : IDisposable
{
    /// <summary>Time after the drain for the final error events, the server's stop and the ledger's last batch.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _expired = new();
    private readonly TimeSpan _drain;
    private readonly ILogger _logger;
    private volatile bool _stopped;

    public ShutdownDrain(IHostApplicationLifetime lifetime, RoutingSettings routing, SanjiaOptions options, ILogger<ShutdownDrain> logger)
    {
        _drain = TimeSpan.FromSeconds(options.ShutdownDrainSeconds);
        _logger = logger;
        routing.DrainExpired = _expired.Token;
        lifetime.ApplicationStopping.Register(OnStopping);
        lifetime.ApplicationStopped.Register(() => _stopped = true);
        _expired.Token.Register(() =>
        {
            if (!_stopped) LogDrainOver(_logger, _drain.TotalSeconds);
        });
    }

    public static TimeSpan ShutdownTimeout(SanjiaOptions options) => TimeSpan.FromSeconds(options.ShutdownDrainSeconds) + Grace;

    private void OnStopping()
    {
        LogStopping(_logger, _drain.TotalSeconds);
        _expired.CancelAfter(_drain);
    }

    public void Dispose() => _expired.Dispose();

    [LoggerMessage(EventId = LogEvents.ShutdownDraining, Level = LogLevel.Information,
        Message = "Shutting down: no new connections; requests in flight get up to {Seconds} s to finish (Sanjia:ShutdownDrainSeconds)")]
    private static partial void LogStopping(ILogger logger, double seconds);

    [LoggerMessage(EventId = LogEvents.ShutdownDrainOver, Level = LogLevel.Warning,
        Message = "Drain time of {Seconds} s is over: streams still open end now with an error event")]
    private static partial void LogDrainOver(ILogger logger, double seconds);
}
