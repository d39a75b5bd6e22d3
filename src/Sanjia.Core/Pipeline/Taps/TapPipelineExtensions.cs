using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline.Taps;

public static class TapPipelineExtensions
{
    /// <summary>Copies successful chat exchanges to the taps (see <see cref="TapHandler"/>); nothing is added when there are none.</summary>
    public static PipelineBuilder UseTaps(this PipelineBuilder builder, IReadOnlyList<IChatTap> taps, TimeProvider time) =>
        taps.Count == 0 ? builder : builder.Use(new TapStage(taps, time));

    /// <summary>Taps want chat exchanges; other kinds of call pass by.</summary>
    private sealed class TapStage(IReadOnlyList<IChatTap> taps, TimeProvider time) : IPipelineStage
    {
        public CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
            where TKind : struct, ICallKind<TContext, TOutcome>
            where TContext : CallContext =>
            inner is CallHandler<ChatContext, ChatOutcome> chat ? (CallHandler<TContext, TOutcome>)(object)new TapHandler(chat, taps, time) : inner;
    }
}
