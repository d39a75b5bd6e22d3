namespace Sanjia.Providers.Local;

/// <summary>
/// Long-lived threads that run a model's generations (prompt evaluation and decoding), at most one per generation the
/// model may run at once. A thread is kept while it has work and for <see cref="DefaultIdleTimeout"/> after, so the
/// native backend's per-thread start-up is paid once per busy period rather than once per request (a new thread per
/// generation cost 3–6 ms before its first token), and a generation never holds a thread-pool thread. Threads left
/// idle end on their own, so the threads of a limiter that a configuration reload replaced do not linger. The
/// model's <see cref="ConcurrencyLimiter"/> admits at most that many generations, and each holds at most one of these
/// threads at a time, so work never waits behind another generation.
/// </summary>
/// <remarks>
/// The caller's continuation runs right on the inference thread when the work returns, not on the thread pool: the
/// request's own code after it (building the answer, writing to the socket) is short and never blocks, and a
/// hand-off to a sleeping pool thread cost 1–2 ms per request when the gateway has one core (bench/README.md).
/// An idle thread waits without spinning, for the same reason.
/// </remarks>
internal sealed class InferenceThreads : IDisposable
{
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(2);

    // A monitor rather than a Lock: idle threads wait on it (Monitor.Wait), which Lock does not offer.
    private readonly object _gate = new();
    private readonly Queue<Action> _queue = new();
    private readonly int _max;
    private readonly string _name;
    private readonly TimeSpan _idleTimeout;
    private int _live;
    private int _waiting;
    private int _started;
    private bool _disposed;

    public InferenceThreads(int count, string name) : this(count, name, DefaultIdleTimeout)
    {
    }

    internal InferenceThreads(int count, string name, TimeSpan idleTimeout)
    {
        _max = Math.Max(1, count);
        _name = name;
        _idleTimeout = idleTimeout;
    }

    /// <summary>Threads alive now (busy or idle).</summary>
    public int Live
    {
        get
        {
            lock (_gate)
            {
                return _live;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="function"/> on one of the threads; the task completes (or faults) when it returns, and
    /// then, on the same thread, <paramref name="then"/> runs with its result (only when it succeeded). The caller's
    /// continuation runs before <paramref name="then"/>, up to its first wait. <paramref name="then"/> must not throw.
    /// </summary>
    public Task<T> Run<T>(Func<T> function, Action<T>? then = null)
    {
        var done = new TaskCompletionSource<T>();
        Post(() =>
        {
            T result;
            try
            {
                result = function();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
                return;
            }
            done.SetResult(result);
            then?.Invoke(result);
        });
        return done.Task;
    }

    private void Post(Action work)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queue.Enqueue(work);
            if (_waiting >= _queue.Count)
            {
                // Enough idle threads for everything queued: wake one.
                Monitor.Pulse(_gate);
                return;
            }
            if (_live < _max)
            {
                _live++;
                var n = ++_started;
                new Thread(Loop) { IsBackground = true, Name = $"sanjia-llama-{_name}-{n}" }.Start();
            }
            // Otherwise every thread is busy: the first to finish takes it.
        }
    }

    private void Loop()
    {
        while (true)
        {
            Action work;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_disposed)
                    {
                        _live--;
                        return;
                    }
                    _waiting++;
                    var woken = Monitor.Wait(_gate, _idleTimeout);
                    _waiting--;
                    if (!woken && _queue.Count == 0)
                    {
                        _live--;
                        return;
                    }
                }
                work = _queue.Dequeue();
            }
            work();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
