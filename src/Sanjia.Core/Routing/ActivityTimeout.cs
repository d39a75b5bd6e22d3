using System.Collections.Concurrent;

namespace Sanjia.Core.Routing;

/// <summary>
/// The one stream-activity timeout: cancelled when a stream has read nothing for its idle time, or when one of the
/// tokens it is linked to (the caller's, the stream's total limit, the shutdown drain) is cancelled. One per stream,
/// rented from a pool and returned when the stream ends, after YARP's <c>ActivityCancellationTokenSource</c>: linked
/// by registrations rather than a linked source, re-armed by <see cref="Reset"/> with no allocation, and re-arming
/// skipped when the last one is under <see cref="Resolution"/> old (a timer update costs more than a chunk's forwarding;
/// a timeout up to 20 ms early on a limit of seconds changes nothing).
/// </summary>
internal sealed class ActivityTimeout : CancellationTokenSource
{
    /// <summary>Re-arming within this long of the last re-arm is skipped.</summary>
    internal static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(20);

    // Enough for the streams of a busy gateway; beyond it returned sources are disposed.
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<ActivityTimeout> Pool = new();
    private static int _pooled;

    private static readonly Action<object?> CancelFromLink = static s => ((ActivityTimeout)s!).Cancel(throwOnFirstException: false);

    private readonly TimeProvider _time;
    private TimeSpan _timeout;
    private long _armedAt;
    private CancellationToken _caller;
    private CancellationTokenRegistration _callerLink;
    private CancellationTokenRegistration _link1;
    private CancellationTokenRegistration _link2;

    // A source bound to its clock from the start: CancelAfter on a source made without one would use the system timer.
    private ActivityTimeout(TimeProvider time) : base(Timeout.InfiniteTimeSpan, time) => _time = time;

    /// <summary>
    /// A source that cancels after <paramref name="timeout"/> without <see cref="Reset"/>, or when <paramref name="link1"/>
    /// or <paramref name="link2"/> is cancelled. Pooled on the system clock; a test's clock gets a fresh one.
    /// </summary>
    public static ActivityTimeout Rent(TimeSpan timeout, TimeProvider time, CancellationToken link1, CancellationToken link2)
    {
        ActivityTimeout? source = null;
        if (time == TimeProvider.System && Pool.TryDequeue(out source))
        {
            Interlocked.Decrement(ref _pooled);
        }
        source ??= new ActivityTimeout(time);
        source._timeout = timeout;
        source._link1 = link1.UnsafeRegister(CancelFromLink, source);
        source._link2 = link2.UnsafeRegister(CancelFromLink, source);
        source.Arm();
        return source;
    }

    /// <summary>
    /// Links the caller's token for this read (re-linked only when it changes: it is the same on every read of a
    /// stream) and re-arms the idle timer unless it was re-armed within <see cref="Resolution"/>.
    /// </summary>
    public void Reset(CancellationToken caller)
    {
        if (caller != _caller)
        {
            _callerLink.Dispose();
            _caller = caller;
            _callerLink = caller.UnsafeRegister(CancelFromLink, this);
        }
        if (_time.GetElapsedTime(_armedAt) > Resolution)
        {
            Arm();
        }
    }

    private void Arm()
    {
        _armedAt = _time.GetTimestamp();
        CancelAfter(_timeout);
    }

    /// <summary>Unlinks and gives the source back to the pool (or disposes it when it fired or the pool is full).</summary>
    public void Return()
    {
        _callerLink.Dispose();
        _link1.Dispose();
        _link2.Dispose();
        _callerLink = _link1 = _link2 = default;
        _caller = default;
        if (_time == TimeProvider.System && TryReset())
        {
            if (Interlocked.Increment(ref _pooled) <= MaxPooled)
            {
                Pool.Enqueue(this);
                return;
            }
            Interlocked.Decrement(ref _pooled);
        }
        Dispose();
    }
}
