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
    // Rented at the first read after the peeked chunk, returned when the stream is disposed.
    private ActivityTimeout? _activity;
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

    /// <summary>The attempt's client span (null when none is recorded): ended when the stream is disposed, with its usage.</summary>
    internal System.Diagnostics.Activity? Span { get; init; }

    /// <summary>The deployment streaming (for the span's attributes).</summary>
    internal Models.Deployment? Deployment { get; init; }

    private GatewayError? _failure;
    private string? _finishReason;

    /// <summary>The one time to first token every stage above reports (the adapter's own counts from its upstream call).</summary>
    public override TimeSpan? TimeToFirstChunk => _timeToFirstChunk;

    protected override async ValueTask<bool> MoveNextCoreAsync(CancellationToken cancellationToken)
    {
        if (_replayFirst)
        {
            _replayFirst = false;
            if (Span is { IsAllDataRequested: true } && _firstResult) _finishReason ??= Telemetry.GatewayTelemetry.FinishReason(Inner.Current.Span);
            return _firstResult;
        }
        if (_ended) return false;
        var caller = _options.CompleteOnClientDisconnect ? CancellationToken.None : cancellationToken;
        try
        {
            var token = Activity(caller).Token;
            var more = await Inner.MoveNextAsync(token).ConfigureAwait(false);
            // A body cut by the cancellation can read as its end in the layers below: an end seen after the token
            // fired is the cut (total limit, idle gap, drain or caller), never a complete answer.
            if (!more) token.ThrowIfCancellationRequested();
            _ended = !more;
            if (more && Span is { IsAllDataRequested: true }) _finishReason ??= Telemetry.GatewayTelemetry.FinishReason(Inner.Current.Span);
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
            _failure = error;
            if (_total?.IsCancellationRequested != true && !_isolated) _router.OnStreamFailed(_state, false, error, _options);
            throw new GatewayException(error);
        }
        catch (GatewayException ex)
        {
            _ended = true;
            _failure = ex.Error;
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
            if (Span is not null) Telemetry.GatewayTelemetry.EndAttempt(Span, Deployment!, Inner.Usage, _failure, _finishReason);
            _activity?.Return();
            _total?.Dispose();
            _state.Release();
        }
    }

    /// <summary>
    /// The stream's one activity timeout, re-armed for this read: it fires after <see cref="AttemptTimeouts.StreamIdle"/>
    /// without a chunk, or when the caller, the total limit or the shutdown drain cancels. Timed from the start of each
    /// read, not from the end of the last: the time the client takes to receive a chunk is not the upstream's silence.
    /// </summary>
    private ActivityTimeout Activity(CancellationToken caller)
    {
        if (_activity is { IsCancellationRequested: true } fired && !caller.IsCancellationRequested
            && _total?.IsCancellationRequested != true && !_router.DrainExpired.IsCancellationRequested)
        {
            // It fired between two reads, while the client took longer than the idle time to receive the last chunk
            // (or a caller token it was linked to before was cancelled): nothing to hold against the upstream.
            fired.Return();
            _activity = null;
        }
        _activity ??= ActivityTimeout.Rent(_timeouts.StreamIdle, _time, _total?.Token ?? CancellationToken.None, _router.DrainExpired);
        _activity.Reset(caller);
        return _activity;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
