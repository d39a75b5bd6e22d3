using System.Diagnostics;
using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Providers.Local.Tools;

namespace Sanjia.Providers.Local;

/// <summary>
/// One served GGUF model under one configuration: its shared weights, its prompt format and its concurrency
/// bound. Every generation gets a fresh context, so requests never see each other's state.
/// </summary>
internal sealed class LocalChatModel
{
    private readonly ModelWeights _weights;
    private readonly LocalOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private Prepared? _prepared;

    public LocalChatModel(string name, ModelWeights weights, ConcurrencyLimiter limiter, LocalOptions options, ILogger logger, TimeProvider time)
    {
        Name = name;
        _weights = weights;
        Limiter = limiter;
        _options = options;
        _logger = logger;
        _time = time;
        _trainedContext = new Lazy<int?>(() => GgufHeader.TrainedContextLength(weights.Path));
    }

    public string Name { get; }

    /// <summary>
    /// The context a prompt and its answer must fit in: the loaded context, or before the first load the smaller of
    /// Local:ContextSize and the context the GGUF file says it was trained with (as the load will choose).
    /// </summary>
    public int ContextWindow => Volatile.Read(ref _prepared) is { } p ? (int)p.ContextParams.ContextSize!.Value
        : _trainedContext.Value is > 0 and var trained ? Math.Min(_options.ContextSize, trained) : _options.ContextSize;

    private readonly Lazy<int?> _trainedContext;

    public string Path => _weights.Path;

    internal ModelWeights Weights => _weights;

    public ConcurrencyLimiter Limiter { get; }

    public async ValueTask<ChatOutcome> ChatAsync(ChatCall call, ChatRequestDto request, ToolSet? tools, CancellationToken cancellationToken)
    {
        // A request resolved against the registry just before its file was removed from the models folder.
        if (!_weights.TryEnter())
        {
            return GatewayError.ModelNotFound(call.Request.Model);
        }
        var entered = new Entered();
        try
        {
            return await ChatCoreAsync(call, request, tools, entered, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (entered.Hold is null)
            {
                _weights.Exit();
            }
        }
    }

    /// <summary>Set once a <see cref="ModelWeights.Hold"/> owns the model's use count (it then counts the generation out).</summary>
    private sealed class Entered
    {
        public ModelWeights.Hold? Hold;
    }

    private async ValueTask<ChatOutcome> ChatCoreAsync(ChatCall call, ChatRequestDto request, ToolSet? tools, Entered entered, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        LLamaWeights weights;
        Prepared prepared;
        try
        {
            (weights, var loadTime) = await _weights.GetAsync(cancellationToken).ConfigureAwait(false);
            prepared = Volatile.Read(ref _prepared) ?? Prepare(weights, loadTime);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ModelLoadFailed(_logger, Path, ex);
            return new GatewayError(GatewayErrorKind.UpstreamFailed, $"The local model '{Name}' could not be loaded.") { Code = UpstreamErrorCodes.ModelLoadFailed };
        }

        var (format, contextParams) = prepared;
        var prompt = Tokenize(weights, format.Apply(ToolPrompt.Messages(request.Messages, tools)));
        var contextSize = (int)contextParams.ContextSize!.Value;
        if (prompt.Length >= contextSize)
        {
            return GatewayError.Invalid(
                $"This model's maximum context length is {contextSize} tokens. However, your messages resulted in {prompt.Length} tokens.",
                "messages", UpstreamErrorCodes.ContextLengthExceeded);
        }

        SamplingSettings sampling;
        try
        {
            // Before the slot is taken: a bad parameter must not hold one.
            sampling = Sampling(request);
        }
        catch (GatewayException ex)
        {
            return ex.Error;
        }
        var stops = request.StopSequences.Concat(format.ImplicitStops).ToArray();
        var maxTokens = request.EffectiveMaxTokens ?? _options.DefaultMaxTokens;

        var lease = await Limiter.TryAcquireAsync(cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            Log.Overloaded(_logger, Name, call.RequestId);
            return new GatewayError(GatewayErrorKind.Overloaded, $"The local model '{Name}' is busy ({_options.MaxConcurrency} running, {_options.MaxQueue} waiting). Retry shortly.")
            {
                Code = UpstreamErrorCodes.ModelOverloaded,
                RetryAfter = TimeSpan.FromSeconds(1),
            };
        }
        // From here the slot and the model's use count are released together, by whoever ends the generation.
        var slot = entered.Hold = new ModelWeights.Hold(lease, _weights);

        var created = _time.GetUtcNow().ToUnixTimeSeconds();
        try
        {
            // Runs on an inference thread; owns the slot from here on.
            Generation Start() => Generation.Start(weights, contextParams, prompt, maxTokens, sampling, stops, slot, cancellationToken);
            if (call.Request.Stream)
            {
                // Decoding goes on on the same thread as soon as the stream is handed out: no hand-off between them.
                var filter = tools is null ? null : new ToolCallStreamFilter(tools.Forced);
                return await Limiter.Threads.Run(
                    () => new LocalChatStream(Start(), call.Request.Model, call.Request.IncludeUsage, created, started, filter),
                    stream => stream.Decode()).ConfigureAwait(false);
            }

            var (text, usage, finishReason) = await Limiter.Threads.Run(() =>
            {
                using var generation = Start();
                return (generation.RunToEnd(cancellationToken), generation.Usage, generation.FinishReason!);
            }).ConfigureAwait(false);
            if (tools is not null && ToolCallParser.Parse(text, tools.Forced) is { Calls.Count: > 0 } answer)
            {
                return new CompleteChatResponse(
                    ToolCallJson.Completion(OpenAiChatJson.NewCompletionId(), created, call.Request.Model, answer.Content, answer.Calls, usage), usage);
            }
            var body = OpenAiChatJson.Completion(OpenAiChatJson.NewCompletionId(), created, call.Request.Model,
                [new OpenAiChatJson.Choice(0, text, finishReason)], usage);
            return new CompleteChatResponse(body, usage);
        }
        catch (GatewayException ex)
        {
            return ex.Error;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.GenerationFailed(_logger, call.RequestId, Name, ex);
            return new GatewayError(GatewayErrorKind.UpstreamFailed, $"The local model '{Name}' could not run a generation.") { Code = UpstreamErrorCodes.LocalGenerationFailed };
        }
    }

    /// <summary>The prompt tokens a generation of this request would evaluate (the same the answer's usage reports).</summary>
    public async ValueTask<(int? Tokens, GatewayError? Error)> CountPromptTokensAsync(ChatRequestDto request, ToolSet? tools, CancellationToken cancellationToken)
    {
        if (!_weights.TryEnter())
        {
            return (null, GatewayError.ModelNotFound(request.Model));
        }
        try
        {
            var (weights, loadTime) = await _weights.GetAsync(cancellationToken).ConfigureAwait(false);
            var (format, _) = Volatile.Read(ref _prepared) ?? Prepare(weights, loadTime);
            return (Tokenize(weights, format.Apply(ToolPrompt.Messages(request.Messages, tools))).Length, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ModelLoadFailed(_logger, Path, ex);
            return (null, new GatewayError(GatewayErrorKind.UpstreamFailed, $"The local model '{Name}' could not be loaded.") { Code = UpstreamErrorCodes.ModelLoadFailed });
        }
        finally
        {
            _weights.Exit();
        }
    }

    /// <summary>What is derived once from the loaded weights.</summary>
    private sealed record Prepared(PromptFormat Format, ModelParams ContextParams);

    private Prepared Prepare(LLamaWeights weights, TimeSpan? loadTime)
    {
        var format = PromptFormat.For(weights, _options.FallbackTemplate, out var unusable);
        if (unusable)
        {
            Log.TemplateUnusable(_logger, Path, format.Name);
        }
        var trainingContext = weights.ContextSize > 0 ? weights.ContextSize : _options.ContextSize;
        var contextSize = (uint)Math.Min(_options.ContextSize, trainingContext);
        var contextParams = new ModelParams(Path)
        {
            ContextSize = contextSize,
            // The whole prompt can go in one batch; Generation still feeds it in pieces to stay cancellable.
            BatchSize = contextSize,
            UBatchSize = Math.Min(512u, contextSize),
            Threads = _options.Threads > 0 ? _options.Threads : null,
            BatchThreads = _options.Threads > 0 ? _options.Threads : null,
            GpuLayerCount = 0,
        };
        var prepared = new Prepared(format, contextParams);
        Volatile.Write(ref _prepared, prepared);
        if (loadTime is { } elapsed)
        {
            Log.ModelLoaded(_logger, Name, Path, elapsed.TotalMilliseconds, weights.ContextSize, format.Name);
        }
        return prepared;
    }

    private static LLamaToken[] Tokenize(LLamaWeights weights, string prompt)
    {
        var tokens = weights.Tokenize(prompt, false, true, Encoding.UTF8);
        // Templates such as llama-2's already write the BOS marker; add it only when they did not.
        if (weights.Vocab.ShouldAddBOS && weights.Vocab.BOS is { } bos && (tokens.Length == 0 || tokens[0] != bos))
        {
            var withBos = new LLamaToken[tokens.Length + 1];
            withBos[0] = bos;
            tokens.CopyTo(withBos, 1);
            return withBos;
        }
        return tokens;
    }

    private static SamplingSettings Sampling(ChatRequestDto request)
    {
        // Without a seed each request samples differently, as with hosted models.
        var seed = request.Seed is { } s ? unchecked((uint)s) : (uint)Random.Shared.Next();
        if (seed == uint.MaxValue)
        {
            seed--; // llama.cpp reads this value as "pick a random seed".
        }
        return new SamplingSettings(
            Temperature: request.Temperature ?? 1f,
            TopP: request.TopP ?? 1f,
            Seed: seed,
            PresencePenalty: request.PresencePenalty ?? 0f,
            FrequencyPenalty: request.FrequencyPenalty ?? 0f);
    }
}
