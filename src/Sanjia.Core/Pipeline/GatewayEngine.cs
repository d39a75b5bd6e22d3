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
    private readonly CallHandler<ImageContext, ImageOutcome> _images;
    private readonly Meter? _meter;
    private readonly TimeProvider _time;
    private volatile Configuration.GatewaySnapshot _snapshot;

    /// <summary>The pipeline <paramref name="pipeline"/> describes (metering, when it has it, outermost) over <paramref name="router"/>.</summary>
    public GatewayEngine(ModelRegistry registry, TimeProvider time, Routing.ResilientRouter router, PipelineBuilder pipeline)
    {
        _snapshot = new Configuration.GatewaySnapshot(registry);
        _time = time;
        _meter = pipeline.Metering?.Meter;
        _chat = pipeline.Build<ChatKind, ChatContext, ChatOutcome>(router.For<ChatKind, ChatContext, ChatOutcome>());
        _embeddings = pipeline.Build<EmbeddingKind, EmbeddingContext, EmbeddingOutcome>(router.For<EmbeddingKind, EmbeddingContext, EmbeddingOutcome>());
        _images = pipeline.Build<ImageKind, ImageContext, ImageOutcome>(router.For<ImageKind, ImageContext, ImageOutcome>());
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

    public ModelRegistry Registry => _snapshot.Registry;

    /// <summary>The configuration in force; a reload replaces it whole with <see cref="Swap"/>.</summary>
    public Configuration.GatewaySnapshot Snapshot
    {
        get => _snapshot;
        init => _snapshot = value;
    }

    public TimeProvider Time => _time;

    /// <summary>
    /// Puts a new configuration in force with one write. Requests in flight keep the snapshot they captured (models,
    /// providers, routing options); the replaced one lets go of its providers when the last of them is done.
    /// </summary>
    public void Swap(Configuration.GatewaySnapshot snapshot) => Interlocked.Exchange(ref _snapshot, snapshot).Retire();

    /// <summary>A lease on the snapshot in force for one request (the one just replaced may be drained already: read again).</summary>
    private Configuration.GatewaySnapshot.Lease Enter()
    {
        while (true)
        {
            var snapshot = _snapshot;
            if (snapshot.TryEnter()) return new(snapshot);
        }
    }

    public async ValueTask<(ChatContext? Context, ChatOutcome Outcome)> ChatAsync(
        ChatRequest request, Caller caller, string requestId, string endpoint, long startTimestamp, CancellationToken cancellationToken)
    {
        // The request's one read of the configuration: its models, providers and routing options, held to the end.
        using var lease = Enter();
        var model = lease.Snapshot.Registry.Resolve(request.Model);
        if (model is null || model.Kind != ModelKind.Chat)
        {
            var refusal = model is null
                ? GatewayError.ModelNotFound(request.Model)
                : model.Kind == ModelKind.Image
                    ? GatewayError.Invalid($"The model '{request.Model}' is an image model; use /v1/images/generations.", "model", "model_not_chat")
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
    /// <returns>The context (null when the model is unknown), which carries the route taken and the cost, as <see cref="ChatAsync"/> does.</returns>
    public async ValueTask<(EmbeddingContext? Context, EmbeddingOutcome Outcome)> EmbedAsync(EmbeddingRequest request, Caller caller, string requestId, long startTimestamp, CancellationToken cancellationToken)
    {
        const string endpoint = "/v1/embeddings";
        // The request's one read of the configuration: its models, providers and routing options, held to the end.
        using var lease = Enter();
        var (model, refusal) = await ResolveAsync(lease.Snapshot, request.Model, ModelKind.Embedding, caller, requestId, endpoint, startTimestamp).ConfigureAwait(false);
        if (model is null)
        {
            return (null, refusal!);
        }
        var context = new EmbeddingContext(requestId, endpoint, request, model, caller, startTimestamp);
        var outcome = await _embeddings.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        return (context, NotFoundThere(model, outcome.Error, endpoint) is { } explained ? explained : outcome);
    }

    /// <summary>
    /// Image generation through the same stages as chat and embeddings: metering (one ledger row, priced per image
    /// or by tokens), budgets and limits (the worst case held, the real cost settled), the router (strategy, health,
    /// retries, fallbacks, timeouts). A model none of whose deployments makes images is refused by the router.
    /// </summary>
    public async ValueTask<(ImageContext? Context, ImageOutcome Outcome)> GenerateImagesAsync(ImageRequest request, Caller caller, string requestId, long startTimestamp, CancellationToken cancellationToken)
    {
        const string endpoint = "/v1/images/generations";
        using var lease = Enter();
        var (model, refusal) = await ResolveAsync(lease.Snapshot, request.Model, ModelKind.Image, caller, requestId, endpoint, startTimestamp).ConfigureAwait(false);
        if (model is null)
        {
            return (null, refusal!);
        }
        var context = new ImageContext(requestId, endpoint, request, model, caller, startTimestamp);
        var outcome = await _images.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        return (context, NotFoundThere(model, outcome.Error, endpoint) is { } explained ? explained : outcome);
    }

    /// <summary>
    /// A non-chat call's model from the request's snapshot, or the recorded refusal: 404 when there is none, 400 when it
    /// is known to be of another kind (an enum compare and a field read). A model whose kind is only assumed is called.
    /// </summary>
    private async ValueTask<(ResolvedModel? Model, GatewayError? Refusal)> ResolveAsync(
        Configuration.GatewaySnapshot snapshot, string modelId, ModelKind kind, Caller caller, string requestId, string endpoint, long startTimestamp)
    {
        var model = snapshot.Registry.Resolve(modelId);
        if (model is not null && (model.Kind == kind || !model.KindKnown))
        {
            return (model, null);
        }
        var refusal = model is null ? GatewayError.ModelNotFound(modelId) : WrongKind(model, kind, endpoint);
        await RecordRefusalAsync(requestId, caller, endpoint, modelId, refusal, startTimestamp).ConfigureAwait(false);
        return (null, refusal);
    }

    private static GatewayError WrongKind(ResolvedModel model, ModelKind kind, string endpoint) =>
        GatewayError.Invalid($"The model '{model.RequestedId}' does not support {endpoint}: it is {Describe(model.Kind)}. "
            + (kind == ModelKind.Embedding ? "You are not allowed to generate embeddings from this model; name an embedding model." : "Name an image model."),
            "model", kind == ModelKind.Embedding ? "model_not_embedding" : "model_not_image");

    /// <summary>
    /// A vendor's bare 404 ("Not Found") for a model whose kind was only assumed: most likely the model does not serve
    /// this endpoint, so the caller is told which model and endpoint it was about. Null (one null check) otherwise.
    /// </summary>
    private static GatewayError? NotFoundThere(ResolvedModel model, GatewayError? error, string endpoint) =>
        error is { Kind: GatewayErrorKind.UpstreamRejected, UpstreamStatus: 404 } && !model.KindKnown
            ? error with
            {
                Message = $"The upstream has no model '{model.RequestedId}' at {endpoint} (it answered 404: {error.Message}): the model may not exist, or may not support {endpoint}.",
                Param = "model",
            }
            : null;

    private static string Describe(ModelKind kind) => kind switch
    {
        ModelKind.Chat => "a chat model (use /v1/chat/completions)",
        ModelKind.Embedding => "an embedding model (use /v1/embeddings)",
        _ => "an image model (use /v1/images/generations)",
    };

    private ValueTask RecordRefusalAsync(string requestId, Caller caller, string endpoint, string model, GatewayError error, long startTimestamp) =>
        _meter?.RecordRefusalAsync(requestId, caller, endpoint, model, error, startTimestamp) ?? ValueTask.CompletedTask;
}
