using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Tokens;

namespace Sanjia.Core.Pipeline;

/// <summary>The engine's entry points, free of HTTP: resolve the model, run the pipeline, meter.</summary>
public sealed class GatewayEngine
{
    private readonly ChatHandler _pipeline;
    private readonly ILedger _ledger;
    private readonly TimeProvider _time;
    private readonly Routing.ResilientRouter _router;
    private readonly Pricing.Pricer? _pricer;
    private volatile ModelRegistry _registry;

    /// <param name="router">The pipeline's terminal stage, which also decides embedding fallbacks.</param>
    /// <param name="configure">Stages between metering (always outermost) and the router.</param>
    /// <param name="pricer">Prices the ledger rows on the request path, so answers can carry their cost (null: no cost is reported).</param>
    public GatewayEngine(ModelRegistry registry, ILedger ledger, TimeProvider time, Routing.ResilientRouter router, Action<ChatPipelineBuilder>? configure = null,
        Pricing.Pricer? pricer = null)
    {
        _registry = registry;
        _ledger = ledger;
        _time = time;
        _router = router;
        _pricer = pricer;
        var builder = new ChatPipelineBuilder().UseMetering(ledger, time, pricer);
        configure?.Invoke(builder);
        _pipeline = builder.Build(router);
    }

    public ModelRegistry Registry => _registry;

    /// <summary>Key policy and budgets for embeddings (chat gets them as a pipeline stage); null = none.</summary>
    public Budgets.EmbeddingBudgetGuard? EmbeddingBudgets { get; init; }

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
        return (context, await _pipeline.HandleAsync(context, cancellationToken).ConfigureAwait(false));
    }

    public async ValueTask<EmbeddingOutcome> EmbedAsync(EmbeddingRequest request, Caller caller, string requestId, long startTimestamp, CancellationToken cancellationToken)
    {
        var model = _registry.Resolve(request.Model);
        if (model is null)
        {
            var refusal = GatewayError.ModelNotFound(request.Model);
            await RecordRefusalAsync(requestId, caller, "/v1/embeddings", request.Model, refusal, startTimestamp).ConfigureAwait(false);
            return refusal;
        }
        EmbeddingOutcome outcome = GatewayError.Invalid($"The model '{request.Model}' is not an embedding model.", "model", "model_not_embedding");
        Deployment? used = null;
        var attempts = 0;
        Budgets.BudgetAdmission? admission = null;
        GatewayError? refused = null;
        if (model.Kind == ModelKind.Embedding && EmbeddingBudgets is { } guard)
        {
            (admission, refused) = await guard.AdmitAsync(caller, model, request, cancellationToken).ConfigureAwait(false);
            if (refused is not null) outcome = refused; // before any upstream call
        }
        try
        {
            foreach (var deployment in refused is null ? model.Deployments : [])
            {
                if (deployment.Provider.Embeddings is not { } backend)
                {
                    continue;
                }
                used = deployment;
                attempts++;
                outcome = await backend.EmbedAsync(new EmbeddingCall(request, deployment.UpstreamModel, requestId), cancellationToken).ConfigureAwait(false);
                if (outcome.Result is not null || Routing.FailureClassifier.Classify(outcome.Error!, _router.Options) == Routing.FailureAction.Return)
                {
                    break;
                }
            }
        }
        catch
        {
            EmbeddingBudgets?.Abandon(admission);
            throw;
        }
        var usage = outcome.Result?.Usage ?? default;
        if (outcome.Result is not null && usage.Input == 0)
        {
            usage = new TokenUsage(request.Inputs.Sum(TokenCounter.Count), 0, Estimated: true);
            outcome = new EmbeddingResult { Body = outcome.Result.Body, Vectors = outcome.Result.Vectors, Usage = usage };
        }
        EmbeddingBudgets?.Finish(admission, used, outcome);
        // Priced by the deployment (an alias entry's own prices), as the budget settled it.
        var now = _time.GetUtcNow();
        var cost = used is not null ? _pricer?.CostOf(used, usage, now) : null;
        // Durable before the endpoint answers (see docs/decisions/0003-ledger-write-ahead-journal.md).
        await _ledger.RecordDurableAsync(new LedgerEntry
        {
            RequestId = requestId,
            Attempt = Math.Max(1, attempts),
            Timestamp = now,
            KeyId = caller.KeyId,
            TeamId = caller.TeamId,
            Endpoint = "/v1/embeddings",
            Model = request.Model,
            Deployment = used?.Id,
            Provider = used?.Provider.Name,
            Usage = usage,
            Status = outcome.Error is { } e ? ErrorStatus.For(e) : 200,
            ErrorCode = outcome.Error?.Code,
            LatencyMs = _time.GetElapsedTime(startTimestamp).TotalMilliseconds,
            Cost = cost?.Amount,
            Currency = cost?.Currency,
        }).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>A request refused before any model was chosen still gets its ledger row (no deployment, no tokens).</summary>
    private ValueTask RecordRefusalAsync(string requestId, Caller caller, string endpoint, string model, GatewayError error, long startTimestamp) =>
        _ledger.RecordDurableAsync(new LedgerEntry
        {
            RequestId = requestId,
            Attempt = 1,
            Timestamp = _time.GetUtcNow(),
            KeyId = caller.KeyId,
            TeamId = caller.TeamId,
            Endpoint = endpoint,
            Model = model,
            Status = ErrorStatus.For(error),
            ErrorCode = error.Code,
            LatencyMs = _time.GetElapsedTime(startTimestamp).TotalMilliseconds,
        });
}
