using Sanjia.Core.Configuration;

namespace Sanjia.Core.Routing.Health;

public enum BreakerState { Closed, Open, HalfOpen }

/// <summary>
/// A per-deployment circuit breaker. It opens after <see cref="HealthOptions.ConsecutiveFailures"/> failures in a
/// row, or when the failure ratio over a sliding window passes <see cref="HealthOptions.ErrorRateThreshold"/>
/// (passive outlier ejection). After <see cref="HealthOptions.BreakSeconds"/> one half-open probe is let through:
/// success closes it, failure opens it again. Options are passed per call so a reload applies at once.
/// Opening and closing are reported to <paramref name="changed"/> (other instances learn them through Redis when it is
/// configured), and what a peer reported is applied by <see cref="OpenFromPeer"/> and <see cref="CloseFromPeer"/>.
/// </summary>
public sealed class CircuitBreaker(TimeProvider time, Action<bool, DateTimeOffset>? changed = null)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _openedAt;
    private readonly Queue<(DateTimeOffset At, bool Failed)> _window = new();
    private BreakerState _state;
    private DateTimeOffset _openUntil;
    private bool _probeInFlight;
    private int _consecutive;
    private int _windowFailures;

    public BreakerState State
    {
        get { lock (_gate) return _state == BreakerState.Open && time.GetUtcNow() >= _openUntil ? BreakerState.HalfOpen : _state; }
    }

    public int ConsecutiveFailures { get { lock (_gate) return _consecutive; } }

    /// <summary>When an open breaker lets a probe through.</summary>
    public DateTimeOffset? OpenUntil { get { lock (_gate) return _state == BreakerState.Open ? _openUntil : null; } }

    /// <summary>May a request go to this deployment now? <paramref name="isProbe"/> marks the half-open probe.</summary>
    public bool TryEnter(out bool isProbe)
    {
        lock (_gate)
        {
            isProbe = false;
            if (_state == BreakerState.Open)
            {
                if (time.GetUtcNow() < _openUntil) return false;
                _state = BreakerState.HalfOpen;
            }
            if (_state == BreakerState.HalfOpen)
            {
                if (_probeInFlight) return false;
                _probeInFlight = true;
                isProbe = true;
            }
            return true;
        }
    }

    public void OnSuccess(bool isProbe)
    {
        lock (_gate)
        {
            _consecutive = 0;
            if (!isProbe && _state != BreakerState.HalfOpen)
            {
                Add(false);
                return;
            }
            if (_state == BreakerState.Closed)
            {
                _probeInFlight = false;
                return; // a peer closed it while this probe was out
            }
            Close();
        }
        changed?.Invoke(false, time.GetUtcNow());
    }

    public void OnFailure(HealthOptions options, bool isProbe)
    {
        DateTimeOffset until;
        lock (_gate)
        {
            _consecutive++;
            var now = time.GetUtcNow();
            if (isProbe || _state == BreakerState.HalfOpen)
            {
                _probeInFlight = false;
                Open(options, now);
            }
            else
            {
                if (_state == BreakerState.Open) return;
                Add(true);
                Prune(options, now);
                var total = _window.Count;
                if (_consecutive < options.ConsecutiveFailures
                    && (total < options.MinimumRequests || (double)_windowFailures / total < options.ErrorRateThreshold))
                {
                    return;
                }
                Open(options, now);
            }
            until = _openUntil;
        }
        changed?.Invoke(true, until);
    }

    /// <summary>
    /// Another instance opened its breaker for this deployment until <paramref name="until"/>: this one stays away
    /// until then too, and then lets its own probe through. Not reported again.
    /// </summary>
    public void OpenFromPeer(DateTimeOffset until)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (until <= now || (_state == BreakerState.Open && until <= _openUntil)) return;
            _state = BreakerState.Open;
            _openedAt = now;
            _openUntil = until;
            _window.Clear();
            _windowFailures = 0;
        }
    }

    /// <summary>
    /// Another instance's probe succeeded at <paramref name="at"/>: closes this breaker unless it opened after that
    /// (its own newer failures win). Not reported again.
    /// </summary>
    public void CloseFromPeer(DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_state == BreakerState.Closed || _openedAt > at) return;
            _consecutive = 0;
            Close();
        }
    }

    private void Close()
    {
        _probeInFlight = false;
        _state = BreakerState.Closed;
        _window.Clear();
        _windowFailures = 0;
    }

    /// <summary>The attempt ended without a verdict on the deployment (the caller went away first).</summary>
    public void OnAbandoned(bool isProbe)
    {
        if (!isProbe) return;
        lock (_gate)
        {
            _probeInFlight = false;
        }
    }

    private void Open(HealthOptions options, DateTimeOffset now)
    {
        _state = BreakerState.Open;
        _openedAt = now;
        _openUntil = now + TimeSpan.FromSeconds(options.BreakSeconds);
        _window.Clear();
        _windowFailures = 0;
    }

    private void Add(bool failed)
    {
        _window.Enqueue((time.GetUtcNow(), failed));
        if (failed) _windowFailures++;
    }

    private void Prune(HealthOptions options, DateTimeOffset now)
    {
        var cutoff = now - TimeSpan.FromSeconds(options.WindowSeconds);
        while (_window.Count > 0 && _window.Peek().At < cutoff)
        {
            if (_window.Dequeue().Failed) _windowFailures--;
        }
    }
}
