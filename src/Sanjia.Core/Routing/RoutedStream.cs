using System.Globalization;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Routing;

/// <summary>
/// A stream the router has handed to the client after peeking its first chunk. It replays that chunk, enforces the
/// idle gap between chunks and the optional total limit, reports a mid-stream failure to the deployment's health,
/// and releases the deployment's concurrency slot exactly once when disposed. On client disconnect the upstream
/// read is cancelled at once, unless <see cref="RoutingOptions.CompleteOnClientDisconnect"/> lets it run to the end
/// (so its usage is metered in full).
/// </summary>
internal sealed class RoutedStream : DelegatingStreamingChatResponse
{
    private readonly DeploymentState _state;
    private readonly AttemptTimeouts _timeouts;
    private readonly RoutingOptions _options;
    private readonly TimeProvider _time;
    private readonly ResilientRouter _router;
    // Evaluation traffic: a mid-stream failure is not reported to the deployment's health.
    private readonly bool _isolated;
    private readonly CancellationTokenSource? _total;
    private CancellationTokenSource? _idle;
    private CancellationTokenSource? _linked;
    private CancellationToken _linkedCaller;
    private bool _replayFirst;
    private readonly bool _firstResult;
    private readonly TimeSpan? _timeToFirstChunk;
    private bool _ended;

    /// <param name="timeToFirstChunk">From the request's arrival to the peeked first chunk, on the engine's clock (null: the stream was empty).</param>
    public RoutedStream(StreamingChatResponse inner, bool firstResult, DeploymentState state, AttemptTimeouts timeouts,
        RoutingOptions options, TimeProvider time, long started, TimeSpan? timeToFirstChunk, ResilientRouter router, bool isolated) : base(inner)
    {
        _isolated = isolated;
        _firstResult = firstResult;
        _replayFirst = true;
        _ended = !firstResult;
        _state = state;
        _timeouts = timeouts;
        _options = options;
        _time = time;
        _router = router;
        _timeToFirstChunk = timeToFirstChunk;
        if (timeouts.Total is { } total)
        {
            var left = total - time.GetElapsedTime(started);
            _total = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, time);
        }
    }

    /// <summary>The one time to first token every stage above reports (the adapter's own counts from its upstream call).</summary>
    public override TimeSpan? TimeToFirstChunk => _timeToFirstChunk;

    protected override async ValueTask<bool> MoveNextCoreAsync(CancellationToken cancellationToken)
    {
        if (_replayFirst)
        {
            _replayFirst = false;
            return _firstResult;
        }
        if (_ended) return false;
        var caller = _options.CompleteOnClientDisconnect ? CancellationToken.None : cancellationToken;
        // One idle timer and one linked token per stream, re-armed per chunk: allocating them per chunk cost more
        // than forwarding the chunk. The caller's token is the same on every call; relink only if it changes.
        if (_linked is null || caller != _linkedCaller)
        {
            _linked?.Dispose();
            _idle ??= new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, _idle.Token, _total?.Token ?? CancellationToken.None, _router.DrainExpired);
            _linkedCaller = caller;
        }
        _idle!.CancelAfter(_timeouts.StreamIdle);
        try
        {
            var more = await Inner.MoveNextAsync(_linked.Token).ConfigureAwait(false);
            _idle.CancelAfter(Timeout.InfiniteTimeSpan);
            _ended = !more;
            return more;
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested && _router.DrainExpired.IsCancellationRequested)
        {
            // Not the deployment's fault: no health penalty.
            _ended = true;
            _router.OnStreamEndedByShutdown(_state);
            throw new GatewayException(new GatewayError(GatewayErrorKind.Unavailable,
                "The gateway is shutting down and its drain time is over; this stream ended before its answer was complete. Retry the request.")
            { Code = "server_shutting_down" });
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            _ended = true;
            var what = _total?.IsCancellationRequested == true
                ? $"the stream ran longer than its total limit of {Seconds(_timeouts.Total!.Value)} s"
                : $"no stream data for {Seconds(_timeouts.StreamIdle)} s";
            var error = new GatewayError(GatewayErrorKind.UpstreamTimeout, $"{_state.Id} stalled: {what}.") { Code = UpstreamErrorCodes.Timeout };
            if (_total?.IsCancellationRequested != true && !_isolated) _router.OnStreamFailed(_state, false, error, _options);
            throw new GatewayException(error);
        }
        catch (GatewayException ex)
        {
            _ended = true;
            if (!_isolated) _router.OnStreamFailed(_state, false, ex.Error, _options);
            throw;
        }
    }

    protected override async ValueTask DisposeCoreAsync()
    {
        try
        {
            if (!_ended && _options.CompleteOnClientDisconnect)
            {
                try
                {
                    while (await MoveNextCoreAsync(CancellationToken.None).ConfigureAwait(false))
                    {
                    }
                }
                catch (GatewayException)
                {
                    // Already recorded against the deployment; the client is gone.
                }
            }
            await Inner.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _linked?.Dispose();
            _idle?.Dispose();
            _total?.Dispose();
            _state.Release();
        }
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
