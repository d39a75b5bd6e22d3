namespace Sanjia.Core.Pipeline;

/// <summary>A stage of the one pipeline: wraps the next stage for every kind of call it applies to (returns it unchanged for the others).</summary>
public interface IPipelineStage
{
    CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext;
}

/// <summary>
/// Composes the one pipeline every kind of call runs through (like MEAI's <c>ChatClientBuilder</c> and
/// <c>EmbeddingGeneratorBuilder</c>, but one builder for all kinds): the first stage added is the outermost, except
/// metering (<see cref="PipelineExtensions.UseMetering"/>), which always goes outside every other stage, so that
/// every request, refused or not, gets its ledger row. <see cref="Build{TKind, TContext, TOutcome}"/> builds the
/// chain for one kind over its terminal (the router).
/// </summary>
public sealed class PipelineBuilder
{
    private readonly List<IPipelineStage> _stages = [];

    /// <summary>The metering stage, when there is one: it also records the requests refused before the pipeline (unknown model).</summary>
    public MeteringStage? Metering { get; private set; }

    public PipelineBuilder Use(IPipelineStage stage)
    {
        if (stage is MeteringStage metering)
        {
            Metering = metering;
        }
        else
        {
            _stages.Add(stage);
        }
        return this;
    }

    public CallHandler<TContext, TOutcome> Build<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> terminal)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        var handler = terminal;
        for (var i = _stages.Count - 1; i >= 0; i--)
        {
            handler = _stages[i].Wrap<TKind, TContext, TOutcome>(handler);
        }
        return Metering is { } m ? m.Wrap<TKind, TContext, TOutcome>(handler) : handler;
    }

    public CallHandler<ChatContext, Abstractions.ChatOutcome> BuildChat(CallHandler<ChatContext, Abstractions.ChatOutcome> terminal) =>
        Build<ChatKind, ChatContext, Abstractions.ChatOutcome>(terminal);
}
