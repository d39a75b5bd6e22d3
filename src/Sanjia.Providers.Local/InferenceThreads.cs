using System.Collections.Concurrent;

namespace Sanjia.Providers.Local;

/// <summary>
/// Long-lived threads that run a model's generations (prompt evaluation and decoding), one per generation the model
/// may run at once. Kept for the model's lifetime, so the native backend's per-thread start-up is paid once per thread
/// rather than once per request (a new thread per generation cost 3–6 ms before its first token), and a generation
/// never holds a thread-pool thread. The model's <see cref="ConcurrencyLimiter"/> admits at most that many generations,
/// and each holds at most one of these threads at a time, so work never waits behind another generation.
/// </summary>
/// <remarks>
/// The caller's continuation runs right on the inference thread when the work returns, not on the thread pool: the
/// request's own code after it (building the answer, writing to the socket) is short and never blocks, and a
/// hand-off to a sleeping pool thread cost 1–2 ms per request when the gateway has one core (bench/README.md).
/// </remarks>
internal sealed class InferenceThreads : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();

    public InferenceThreads(int count, string name)
    {
        for (var i = 0; i < Math.Max(1, count); i++)
        {
            new Thread(Loop) { IsBackground = true, Name = $"sanjia-llama-{name}-{i}" }.Start();
        }
    }

    private void Loop()
    {
        foreach (var action in _work.GetConsumingEnumerable())
        {
            action();
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
        _work.Add(() =>
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

    public void Dispose() => _work.CompleteAdding();
}
