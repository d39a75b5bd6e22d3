namespace Sanjia.Providers.Local;

/// <summary>
/// Bounds one model's work: at most <c>maxConcurrency</c> generations hold a slot, at most <c>maxQueue</c> wait for
/// one, and anything beyond is turned away at once so callers can retry elsewhere instead of piling up memory.
/// The admitted generations run on the limiter's own <see cref="Threads"/>, one per slot.
/// </summary>
internal sealed class ConcurrencyLimiter(int maxConcurrency, int maxQueue)
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, maxConcurrency), Math.Max(1, maxConcurrency));
    private readonly int _capacity = Math.Max(1, maxConcurrency) + Math.Max(0, maxQueue);
    private int _admitted;
    private InferenceThreads? _threads;

    /// <summary>The threads admitted generations run on, one per slot (started on first use, kept for the process).</summary>
    public InferenceThreads Threads => LazyInitializer.EnsureInitialized(ref _threads, () => new InferenceThreads(maxConcurrency, "generation"));

    /// <summary>Generations running plus requests waiting.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>Waits for a slot; null when the queue is already full.</summary>
    /// <exception cref="OperationCanceledException">The caller gave up while waiting (its queue place is freed).</exception>
    public async ValueTask<Lease?> TryAcquireAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            return null;
        }
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _admitted);
            throw;
        }
        return new Lease(this);
    }

    /// <summary>One held slot; disposing it more than once is harmless.</summary>
    internal sealed class Lease(ConcurrencyLimiter owner) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner._slots.Release();
                Interlocked.Decrement(ref owner._admitted);
            }
        }
    }
}
