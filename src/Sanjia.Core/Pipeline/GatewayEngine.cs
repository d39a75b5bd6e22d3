using Sanjia.Abstractions;
using Sanjia.Core.Models;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// The engine's entry points, free of HTTP: resolve the model, then run the one pipeline (<see cref="PipelineBuilder"/>)
/// built for the kind of call. Each entry point only makes its kind's context.
/// </summary>
public sealed class GatewayEngine
{
    private readonly CallHandler<ChatContext, ChatOutcome> _chat;
    private readonly CallHandler<EmbeddingContext, EmbeddingOutcome> _embeddings;
    private readonly Meter? _meter;
    private readonly TimeProvider _time;
    private volatile ModelRegistry _registry;

    /// <summary>The pipeline <paramref name="pipeline"/> describes (metering, when it has it, outermost) over <paramref name="router"/>.</summary>
    public GatewayEngine(ModelRegistry registry, TimeProvider time, Routing.ResilientRouter router, PipelineBuilder pipeline)
    {
        _registry = registry;
        _time = time;
        _meter = pipeline.Metering?.Meter;
        _chat = pipeline.Build<ChatKind, ChatContext, ChatOutcome>(router.For<ChatKind, ChatContext, ChatOutcome>());
        _embeddings = pipeline.Build<EmbeddingKind, EmbeddingContext, EmbeddingOutcome>(router.For<EmbeddingKind, EmbeddingContext, EmbeddingOutcome>());
    }

    /// <summary>Metering into <paramref name="ledger"/>, the stages <paramref name="configure"/> adds, and the router.</summary>
    /// <param name="pricer">Prices the ledger rows on the request path, so answers can carry their cost (null: no cost is reported).</param>
    public GatewayEngine(ModelRegistry registry, ILedger ledger, TimeProvider time, Routing.ResilientRouter router, Action<PipelineBuilder>? configure = null,
        Pricing.Pricer? pricer = null)
        : this(registry, time, router, Configure(new PipelineBuilder().UseMetering(ledger, time, pricer), configure))
    {
    }

    private static PipelineBuilder Configure(PipelineBuilder builder, Action<PipelineBuilder>? configure)
    {
        configure?.Invoke(builder);
        return builder;
    }

    public ModelRegistry Registry => _registry;

    public TimeProvider Time => _time;

    /// <summary>Swaps in a new validated registry; requests in flight keep the one they resolved against.</summary>
    public void SwapRegistry(ModelRegistry registry) => _registry = registry;

    public async ValueTask<(ChatContext? Context, ChatOutcome Outcome)> ChatAsync(
        ChatRequest request, Caller caller, string requestId, string endpoint, long startTimestamp, CancellationToken cancellationToken)
    {
        var model = _registry.Resolve(request.Model);
        if (model is null || model.Kind != ModelKind.Chat)
        {
            var refusal = model is null
                ? GatewayError.ModelNotFound(request.Model)
                : GatewayError.Invalid($"The model '{request.Model}' is an embedding model; use /v1/embeddings.", "model", "model_not_chat");
            await RecordRefusalAsync(requestId, caller, endpoint, request.Model, refusal, startTimestamp).ConfigureAwait(false);
            return (null, refusal);
        }
        var context = new ChatContext(requestId, endpoint, request, model, caller, startTimestamp);
        return (context, await _chat.HandleAsync(context, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Embeddings through the same stages as chat: metering, budgets and limits, the router (strategy, health,
    /// retries, fallbacks, timeouts). A model none of whose deployments embeds is refused by the router.
    /// </summary>
    public async ValueTask<EmbeddingOutcome> EmbedAsync(EmbeddingRequest request, Caller caller, string requestId, long startTimestamp, CancellationToken cancellationToken)
    {
        const string endpoint = "/v1/embeddings";
        var model = _registry.Resolve(request.Model);
        if (model is null)
        {
            var refusal = GatewayError.ModelNotFound(request.Model);
            await RecordRefusalAsync(requestId, caller, endpoint, request.Model, refusal, startTimestamp).ConfigureAwait(false);
            return refusal;
        }
        return await _embeddings.HandleAsync(new EmbeddingContext(requestId, endpoint, request, model, caller, startTimestamp), cancellationToken).ConfigureAwait(false);
    }

    private ValueTask RecordRefusalAsync(string requestId, Caller caller, string endpoint, string model, GatewayError error, long startTimestamp) =>
        _meter?.RecordRefusalAsync(requestId, caller, endpoint, model, error, startTimestamp) ?? ValueTask.CompletedTask;
}
