using System.Text;
using LLama;
using LLama.Abstractions;
using LLama.Native;
using LLama.Sampling;
using Microsoft.Extensions.Logging.Abstractions;
using Sanjia.Abstractions;

namespace Sanjia.Providers.Local;

/// <summary>Sampling settings for one generation, already defaulted.</summary>
internal sealed record SamplingSettings(float Temperature, float TopP, uint Seed, float PresencePenalty, float FrequencyPenalty);

/// <summary>
/// One generation on its own llama.cpp context: the prompt is evaluated once, then <see cref="Step"/> produces text
/// a little at a time. Steps run one after another (never concurrently); <see cref="Dispose"/> may come from any
/// thread at any time and is deferred until a running step returns, so native memory is never freed under it.
/// Token counts stay readable after disposal, which is what usage of an abandoned stream is built from.
/// </summary>
internal sealed class Generation : IDisposable
{
    // Prompt evaluation is split so a cancelled request stops between pieces rather than after a long prompt.
    private const int PromptChunk = 256;

    private readonly LLamaContext _context;
    private readonly DefaultSamplingPipeline _sampler;
    private readonly StreamingTokenDecoder _decoder;
    private readonly LLamaBatch _batch = new();
    private readonly StopSequenceFilter _stops;
    private readonly SafeLlamaModelHandle.Vocabulary _vocab;
    private readonly IDisposable _slot;
    private readonly int _maxTokens;
    private readonly int _contextSize;
    private readonly Lock _sync = new();
    private int _position;
    private int _logitIndex;
    private LLamaToken? _undecoded;
    private bool _running;
    private bool _disposeRequested;
    private bool _disposed;
    private int _completionTokens;

    private Generation(LLamaWeights weights, LLamaContext context, int promptTokens, int maxTokens, SamplingSettings sampling, IEnumerable<string> stops, IDisposable slot)
    {
        _context = context;
        _vocab = weights.Vocab;
        _contextSize = (int)context.ContextSize;
        _maxTokens = maxTokens;
        _slot = slot;
        PromptTokens = promptTokens;
        _stops = new StopSequenceFilter(stops);
        _decoder = new StreamingTokenDecoder(Encoding.UTF8, weights);
        _sampler = new DefaultSamplingPipeline
        {
            Temperature = sampling.Temperature,
            TopP = sampling.TopP,
            Seed = sampling.Seed,
            PresencePenalty = sampling.PresencePenalty,
            FrequencyPenalty = sampling.FrequencyPenalty,
        };
    }

    public int PromptTokens { get; }

    public int CompletionTokens => Volatile.Read(ref _completionTokens);

    public TokenUsage Usage => new(PromptTokens, CompletionTokens);

    /// <summary>"stop" or "length" once the generation has ended; null while it can go on.</summary>
    public string? FinishReason { get; private set; }

    /// <summary>
    /// Creates the context and evaluates the prompt. Owns <paramref name="slot"/> from here on: it is released when
    /// the generation is disposed, or at once if starting fails.
    /// </summary>
    public static Generation Start(LLamaWeights weights, IContextParams contextParams, LLamaToken[] prompt, int maxTokens,
        SamplingSettings sampling, IEnumerable<string> stops, IDisposable slot, CancellationToken cancellationToken)
    {
        LLamaContext? context = null;
        Generation? generation = null;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            context = weights.CreateContext(contextParams, NullLogger.Instance);
            generation = new Generation(weights, context, prompt.Length, maxTokens, sampling, stops, slot);
            generation.EvaluatePrompt(prompt, cancellationToken);
            return generation;
        }
        catch
        {
            if (generation is not null)
            {
                generation.Dispose();
            }
            else
            {
                context?.Dispose();
                slot.Dispose();
            }
            throw;
        }
    }

    private void EvaluatePrompt(LLamaToken[] prompt, CancellationToken cancellationToken)
    {
        for (var start = 0; start < prompt.Length; start += PromptChunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(PromptChunk, prompt.Length - start);
            _batch.Clear();
            _logitIndex = _batch.AddRange(prompt.AsSpan(start, count), _position, LLamaSeqId.Zero, logitsLast: start + count == prompt.Length);
            Decode();
            _position += count;
        }
    }

    /// <summary>
    /// Generates until some text can be emitted or the generation ends; returns that text, which is empty only once
    /// <see cref="FinishReason"/> is set.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled between two tokens.</exception>
    /// <exception cref="GatewayException">llama.cpp failed to evaluate a token.</exception>
    public string Step(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed || _disposeRequested, this);
            _running = true;
        }
        try
        {
            return StepCore(cancellationToken);
        }
        finally
        {
            bool dispose;
            lock (_sync)
            {
                _running = false;
                dispose = _disposeRequested;
            }
            if (dispose)
            {
                DisposeCore();
            }
        }
    }

    /// <summary>Runs the generation to its end and returns all of its text.</summary>
    public string RunToEnd(CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        while (FinishReason is null)
        {
            text.Append(Step(cancellationToken));
        }
        return text.ToString();
    }

    private string StepCore(CancellationToken cancellationToken)
    {
        while (FinishReason is null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_completionTokens >= _maxTokens)
            {
                return Finish("length");
            }
            if (_undecoded is { } previous)
            {
                if (_position >= _contextSize)
                {
                    return Finish("length");
                }
                _batch.Clear();
                _logitIndex = _batch.Add(previous, _position, LLamaSeqId.Zero, true);
                Decode();
                _position++;
                _undecoded = null;
            }

            var token = _sampler.Sample(_context.NativeHandle, _logitIndex);
            Interlocked.Increment(ref _completionTokens);
            if (token.IsEndOfGeneration(_vocab))
            {
                return Finish("stop");
            }
            _undecoded = token;
            _decoder.Add(token);
            var emitted = _stops.Push(_decoder.Read(), out var stopped);
            if (stopped)
            {
                FinishReason = "stop";
                return emitted;
            }
            if (emitted.Length > 0)
            {
                return emitted;
            }
        }
        return "";
    }

    private string Finish(string reason)
    {
        FinishReason = reason;
        return _stops.Flush();
    }

    private void Decode()
    {
        var result = _context.Decode(_batch);
        if (result != DecodeResult.Ok)
        {
            throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"The local model failed to evaluate the input ({result}).")
            {
                Code = UpstreamErrorCodes.LocalDecodeFailed,
            });
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            if (_running)
            {
                _disposeRequested = true;
                return;
            }
        }
        DisposeCore();
    }

    private void DisposeCore()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _sampler.Dispose();
        _context.Dispose();
        _slot.Dispose();
    }
}
