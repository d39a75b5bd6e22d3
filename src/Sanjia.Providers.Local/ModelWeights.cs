using System.Diagnostics;
using LLama;
using LLama.Common;

namespace Sanjia.Providers.Local;

/// <summary>
/// One GGUF file's weights, loaded on first use and then shared by every generation (and by every provider built
/// from a reloaded configuration, so a reload does not load the file again).
/// </summary>
internal sealed class ModelWeights(string path) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LLamaWeights? _weights;
    private bool _disposed;

    public string Path { get; } = path;

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
            _disposed = true;
            _weights?.Dispose();
            _weights = null;
        }
        finally
        {
            _gate.Release();
        }
    }
}
