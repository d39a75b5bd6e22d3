using System.Collections.Concurrent;

namespace Sanjia.Providers.Local;

/// <summary>
/// Long-lived threads that run a model's generations (prompt evaluation and decoding), one per generation the model
/// may run at once. Kept for the model's lifetime, so the native backend's per-thread start-up is paid once per thread
/// rather than once per request (a new thread per generation cost 3–6 ms before its first token), and a generation
/// never holds a thread-pool thread. The model's <see cref="ConcurrencyLimiter"/> admits at most that many generations,
/// and each holds at most one of these threads at a time, so work never waits behind another generation.
/// </summary>
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

    /// <summary>Runs <paramref name="action"/> on one of the threads; the task completes (or faults) when it returns.</summary>
    public Task Run(Action action) => Run(() =>
    {
        action();
        return true;
    });

    public Task<T> Run<T>(Func<T> function)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(function());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        return done.Task;
    }

    public void Dispose() => _work.CompleteAdding();
}
