using System.Diagnostics;
using LLama;
using LLama.Common;

namespace Sanjia.Providers.Local;

/// <summary>
/// One GGUF file's weights, loaded on first use and then shared by every generation (and by every provider built
/// from a reloaded configuration, so a reload does not load the file again). When the file leaves the models
/// folder the weights are retired: new generations are refused and the memory is freed when the last running
/// one ends (<see cref="TryEnter"/>/<see cref="Exit"/> count them).
/// </summary>
internal sealed class ModelWeights(string path) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _users = new();
    private LLamaWeights? _weights;
    private bool _disposed;
    private int _running;
    private bool _retired;

    public string Path { get; } = path;

    /// <summary>The file as it was when these weights were made: a file replaced under the same path gets new weights.</summary>
    public (long Length, DateTime WrittenUtc) Identity { get; } = IdentityOf(path);

    public static (long Length, DateTime WrittenUtc) IdentityOf(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
    }

    /// <summary>Counts a generation in; false once the model was removed.</summary>
    public bool TryEnter()
    {
        lock (_users)
        {
            if (_retired)
            {
                return false;
            }
            _running++;
            return true;
        }
    }

    /// <summary>Counts a generation out; the last one out of a retired model frees its weights.</summary>
    public void Exit()
    {
        bool free;
        lock (_users)
        {
            _running--;
            free = _retired && _running == 0;
        }
        if (free)
        {
            Dispose();
        }
    }

    /// <summary>Refuses new generations and frees the weights once the running ones have ended.</summary>
    public void Retire()
    {
        bool free;
        lock (_users)
        {
            _retired = true;
            free = _running == 0;
        }
        if (free)
        {
            Dispose();
        }
    }

    /// <summary>True once the weights have been freed (for tests and the log).</summary>
    public bool IsUnloaded => Volatile.Read(ref _disposed);

    /// <summary>The loaded weights; the first caller loads them, the others wait. A failed load is retried next time.</summary>
    public async ValueTask<(LLamaWeights Weights, TimeSpan? LoadTime)> GetAsync(CancellationToken cancellationToken)
    {
        var loaded = Volatile.Read(ref _weights);
        if (loaded is not null)
        {
            return (loaded, null);
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_weights is not null)
            {
                return (_weights, null);
            }
            var started = Stopwatch.GetTimestamp();
            // Loading reads the whole file; keep it off the caller's thread.
            var weights = await Task.Run(() => LLamaWeights.LoadFromFile(new ModelParams(Path) { GpuLayerCount = 0 }), cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _weights, weights);
            return (weights, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Wait();
        try
        {
            Volatile.Write(ref _disposed, true);
            _weights?.Dispose();
            _weights = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A generation's hold on the weights and on its concurrency slot: disposing it (once; later calls do nothing)
    /// frees the slot and counts the generation out.
    /// </summary>
    internal sealed class Hold(IDisposable slot, ModelWeights weights) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slot.Dispose();
                weights.Exit();
            }
        }
    }
}
