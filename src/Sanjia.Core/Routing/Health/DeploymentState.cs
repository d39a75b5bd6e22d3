using Sanjia.Abstractions;

namespace Sanjia.Core.Routing.Health;

/// <summary>
/// What the gateway knows about one deployment at run time: requests in flight, latency, breaker, cool-down from
/// <c>Retry-After</c>. Kept across configuration reloads for deployments that stay. Breaker and cool-down changes go
/// to <paramref name="changed"/> (shared with other instances through Redis when it is configured); only changes,
/// never a request that leaves the state as it was.
/// </summary>
public sealed class DeploymentState(string id, TimeProvider time, Action<HealthChange>? changed = null)
{
    private const double Alpha = 0.3;
    private readonly Lock _gate = new();
    private int _inFlight;
    private long _requests;
    private long _failures;
    private double? _latencyMs;
    private DateTimeOffset _coolingUntil;
    private string? _lastError;

    public string Id { get; } = id;

    public CircuitBreaker Breaker { get; } = new(time, changed is not { } report ? null
        : (opened, at) => report(new HealthChange(id, opened ? HealthChangeKind.Opened : HealthChangeKind.Closed, at, null)));

    public int InFlight => Volatile.Read(ref _inFlight);

    public long Requests => Interlocked.Read(ref _requests);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Moving average of the time to first token, in milliseconds; null until measured.</summary>
    public double? LatencyEwmaMs { get { lock (_gate) return _latencyMs; } }

    public string? LastError { get { lock (_gate) return _lastError; } }

    private GatewayError? _coolingCause;

    /// <summary>Until when the upstream asked (by <c>Retry-After</c>) not to be called; null when it did not.</summary>
    public DateTimeOffset? CoolingUntil
    {
        get { lock (_gate) return _coolingUntil > time.GetUtcNow() ? _coolingUntil : null; }
    }

    /// <summary>Takes a concurrency slot unless <paramref name="limit"/> are in use.</summary>
    public bool TryAcquire(int? limit)
    {
        while (true)
        {
            var current = Volatile.Read(ref _inFlight);
            if (limit is { } max && current >= max) return false;
            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                Interlocked.Increment(ref _requests);
                return true;
            }
        }
    }

    public void Release() => Interlocked.Decrement(ref _inFlight);

    public void RecordLatency(TimeSpan timeToFirstToken)
    {
        var ms = timeToFirstToken.TotalMilliseconds;
        lock (_gate) _latencyMs = _latencyMs is { } old ? old + (Alpha * (ms - old)) : ms;
    }

    public void RecordFailure(string error)
    {
        Interlocked.Increment(ref _failures);
        lock (_gate) _lastError = error;
    }

    /// <summary>The error whose <c>Retry-After</c> started the current cool-down: what a caller who finds the deployment
    /// cooling is told, instead of a vaguer "unavailable".</summary>
    public GatewayError? CoolingCause
    {
        get { lock (_gate) return _coolingUntil > time.GetUtcNow() ? _coolingCause : null; }
    }

    public void CoolDown(TimeSpan duration, GatewayError? cause = null)
    {
        var until = time.GetUtcNow() + duration;
        lock (_gate)
        {
            if (until <= _coolingUntil) return;
            // Peers hear of a cool-down that starts or grows by a second or more, not of every 429 that repeats it.
            var news = until - _coolingUntil >= TimeSpan.FromSeconds(1);
            _coolingUntil = until;
            _coolingCause = cause;
            if (!news) return;
        }
        changed?.Invoke(new HealthChange(Id, HealthChangeKind.Cooling, until, cause));
    }

    /// <summary>Another instance was told to leave this deployment alone until <paramref name="until"/>.</summary>
    public void CoolFromPeer(DateTimeOffset until, GatewayError? cause)
    {
        lock (_gate)
        {
            if (until <= _coolingUntil) return;
            _coolingUntil = until;
            _coolingCause = cause;
        }
    }

    /// <summary>Applies what another instance reported (<see cref="DeploymentStateStore.Changed"/> there).</summary>
    public void ApplyFromPeer(HealthChange change)
    {
        switch (change.Kind)
        {
            case HealthChangeKind.Opened: Breaker.OpenFromPeer(change.At); break;
            case HealthChangeKind.Closed: Breaker.CloseFromPeer(change.At); break;
            case HealthChangeKind.Cooling: CoolFromPeer(change.At, change.Cause); break;
        }
    }
}

public enum HealthChangeKind { Opened, Closed, Cooling }

/// <summary>
/// A change of a deployment's health on this instance: its breaker opened until <paramref name="At"/>, closed at
/// <paramref name="At"/>, or it is cooling until <paramref name="At"/> (with the upstream error that asked for it).
/// </summary>
public sealed record HealthChange(string Deployment, HealthChangeKind Kind, DateTimeOffset At, GatewayError? Cause);
