using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pipeline.Taps;

namespace Sanjia.Core.Tests.Pipeline;

/// <summary>The one builder: metering's place is its own, and a stage leaves out the kinds it does not apply to.</summary>
public class PipelineBuilderTests
{
    private static ChatContext Chat() => new("req-1", "/v1/chat/completions",
        ChatRequestParser.Parse(Encoding.UTF8.GetBytes("""{"model":"chat","messages":[{"role":"user","content":"hi"}]}""")).Request!,
        new ResolvedModel("chat", ModelKind.Chat, [], IsAlias: true), Caller.Master, 0);

    private static EmbeddingContext Embedding() => new("req-2", "/v1/embeddings",
        new EmbeddingRequest { Body = "{}"u8.ToArray(), Model = "embed", Inputs = ["hello"] },
        new ResolvedModel("embed", ModelKind.Embedding, [], IsAlias: true), Caller.Master, 0);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Metering_is_the_outermost_stage_wherever_it_is_added(bool addedFirst)
    {
        var ledger = new RecordingLedger();
        var seen = new List<int>();
        var builder = new PipelineBuilder();
        if (addedFirst) builder.UseMetering(ledger, TimeProvider.System);
        builder.Use(new RowCounter(ledger, seen));
        if (!addedFirst) builder.UseMetering(ledger, TimeProvider.System);

        await builder.BuildChat(new ScriptedHandler(() => GatewayError.Invalid("no"))).HandleAsync(Chat(), CancellationToken.None);
        await builder.Build<EmbeddingKind, EmbeddingContext, EmbeddingOutcome>(new EmbeddingTerminal()).HandleAsync(Embedding(), CancellationToken.None);

        // The inner stage returned before any row was written, for both kinds: metering ran around it.
        Assert.Equal([0, 1], seen);
        Assert.Equal(["/v1/chat/completions", "/v1/embeddings"], ledger.Entries.Select(e => e.Endpoint));
        Assert.Equal([400, 200], ledger.Entries.Select(e => e.Status));
    }

    [Fact]
    public void Taps_wrap_chat_and_leave_embeddings_out()
    {
        var builder = new PipelineBuilder().UseTaps([new NoTap()], TimeProvider.System);
        var chat = new ScriptedHandler(() => GatewayError.Invalid("x"));
        var embeddings = new EmbeddingTerminal();

        Assert.IsType<TapHandler>(builder.BuildChat(chat));
        Assert.Same(embeddings, builder.Build<EmbeddingKind, EmbeddingContext, EmbeddingOutcome>(embeddings));
    }

    /// <summary>Notes how many ledger rows exist when the stage inside it has answered.</summary>
    private sealed class RowCounter(RecordingLedger ledger, List<int> seen) : IPipelineStage
    {
        public CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
            where TKind : struct, ICallKind<TContext, TOutcome>
            where TContext : CallContext => new Stage<TContext, TOutcome>(inner, ledger, seen);

        private sealed class Stage<TContext, TOutcome>(CallHandler<TContext, TOutcome> inner, RecordingLedger ledger, List<int> seen)
            : DelegatingCallHandler<TContext, TOutcome>(inner)
            where TContext : CallContext
        {
            public override async ValueTask<TOutcome> HandleAsync(TContext context, CancellationToken cancellationToken)
            {
                var outcome = await Inner.HandleAsync(context, cancellationToken);
                seen.Add(ledger.Entries.Count);
                return outcome;
            }
        }
    }

    private sealed class EmbeddingTerminal : CallHandler<EmbeddingContext, EmbeddingOutcome>
    {
        public override ValueTask<EmbeddingOutcome> HandleAsync(EmbeddingContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<EmbeddingOutcome>(new EmbeddingResult { Vectors = [[1f]], Usage = new TokenUsage(1, 0) });
    }

    private sealed class NoTap : IChatTap
    {
        public bool Wants(ChatContext context) => false;

        public void Completed(CompletedChat chat)
        {
        }
    }
}
