using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// A stage of the pipeline for one kind of call (<see cref="ChatKind"/>, <see cref="EmbeddingKind"/>). Stages are
/// delegating decorators; the last one, the router, calls a provider.
/// </summary>
public abstract class CallHandler<TContext, TOutcome>
    where TContext : CallContext
{
    public abstract ValueTask<TOutcome> HandleAsync(TContext context, CancellationToken cancellationToken);
}

/// <summary>A stage that does its work around the next one.</summary>
public abstract class DelegatingCallHandler<TContext, TOutcome>(CallHandler<TContext, TOutcome> inner) : CallHandler<TContext, TOutcome>
    where TContext : CallContext
{
    protected CallHandler<TContext, TOutcome> Inner { get; } = inner;
}

/// <summary>
/// What a kind of call supplies to the one pipeline: its request (the context type), how its outcome reads, its cost
/// rule, and its upstream call. Everything else (metering, budgets and limits, retries, fallbacks, health, timeouts)
/// is written once, generic over the kind. Kinds are structs so each stage is compiled for each kind, with these
/// calls direct: chat pays nothing for sharing its stages.
/// </summary>
public interface ICallKind<TContext, TOutcome>
    where TContext : CallContext
{
    /// <summary>Whether a deployment's provider serves this kind of call.</summary>
    static abstract bool Serves(Models.Deployment deployment);

    /// <summary>The error for a model none of whose deployments serves this kind.</summary>
    static abstract GatewayError NotServed(Models.ResolvedModel model);

    /// <summary>One upstream call to one deployment.</summary>
    static abstract ValueTask<TOutcome> CallAsync(TContext context, Models.Deployment deployment, CancellationToken cancellationToken);

    /// <summary>The expected failure the outcome holds, or null for an answer.</summary>
    static abstract GatewayError? ErrorOf(in TOutcome outcome);

    /// <summary>The usage of a complete answer (null for errors and streams).</summary>
    static abstract TokenUsage? UsageOf(in TOutcome outcome);

    /// <summary>The finish reason of a complete answer, for its client span (read only when a span records it).</summary>
    static virtual string? FinishReasonOf(in TOutcome outcome) => null;

    /// <summary>The streamed answer the outcome holds, if this kind streams and this one does.</summary>
    static abstract StreamingChatResponse? StreamOf(in TOutcome outcome);

    static abstract TOutcome From(GatewayError error);

    /// <summary>An outcome holding a (wrapped) stream; only called for kinds that stream.</summary>
    static abstract TOutcome From(StreamingChatResponse stream);

    /// <summary>The chat request, for the stages that only chat has (output limits, strategies that read it).</summary>
    static abstract ChatRequest? ChatRequestOf(TContext context);

    /// <summary>The request's estimated input tokens (prompt plus <c>max_tokens</c> for chat): context windows, routing by cost.</summary>
    static abstract int EstimatedTokens(TContext context);

    /// <summary>The error for a request larger than every deployment's context window.</summary>
    static abstract GatewayError TooLarge(TContext context, int tokens, int largestWindow);

    /// <summary>The cost rule: the most the request can cost on a deployment with this price (the budget hold).</summary>
    static abstract decimal WorstCase(TContext context, ModelPrice price, Configuration.MeteringOptions options);
}
