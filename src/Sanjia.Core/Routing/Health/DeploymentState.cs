using Sanjia.Abstractions;

namespace Sanjia.Core.Routing.Health;

/// <summary>
/// What the gateway knows about one deployment at run time: requests in flight, latency, breaker, cool-down from
/// <c>Retry-After</c>. Kept across configuration reloads for deployments that stay.
/// </summary>
public sealed class DeploymentState(string id, TimeProvider time)
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

    public CircuitBreaker Breaker { get; } = new(time);

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
            if (until > _coolingUntil)
            {
                _coolingUntil = until;
                _coolingCause = cause;
            }
        }
    }
}
