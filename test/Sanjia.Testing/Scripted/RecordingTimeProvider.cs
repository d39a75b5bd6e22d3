using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Sanjia.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells the test every timer the code under test starts or re-arms (its
/// due time, in order; a timer created or changed to never fire is left out), so a test waits until the code is
/// waiting before it moves the clock: no real sleeps and no race between the test's
/// <see cref="FakeTimeProvider.Advance(TimeSpan)"/> and the code's <c>Task.Delay</c> or <c>CancelAfter</c>.
/// </summary>
public sealed class RecordingTimeProvider : FakeTimeProvider
{
    // Generous: only a broken test waits this long, and a loaded 2-core machine must not make a good one fail.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Channel<TimeSpan> _started = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Recorded(base.CreateTimer(callback, state, dueTime, period), this);
        Started(dueTime);
        return timer;
    }

    private void Started(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan) _started.Writer.TryWrite(dueTime);
    }

    private sealed class Recorded(ITimer inner, RecordingTimeProvider owner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            owner.Started(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>
    /// The due time of the next timer started (since the last one this returned) that <paramref name="match"/>
    /// accepts; the ones it skips are consumed. Fails after 30 s of real time instead of hanging.
    /// </summary>
    public async Task<TimeSpan> NextTimerAsync(Func<TimeSpan, bool>? match = null)
    {
        using var patience = new CancellationTokenSource(Patience);
        try
        {
            while (true)
            {
                var due = await _started.Reader.ReadAsync(patience.Token).ConfigureAwait(false);
                if (match?.Invoke(due) ?? true) return due;
            }
        }
        catch (OperationCanceledException) when (patience.IsCancellationRequested)
        {
            throw new TimeoutException($"No matching timer was started within {Patience.TotalSeconds} s of real time.");
        }
    }

    /// <summary>Due times of the timers started and not yet read by <see cref="NextTimerAsync"/>.</summary>
    public List<TimeSpan> DrainTimers()
    {
        var list = new List<TimeSpan>();
        while (_started.Reader.TryRead(out var due)) list.Add(due);
        return list;
    }
}
