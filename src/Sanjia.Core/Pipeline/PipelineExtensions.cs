using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

public static class PipelineExtensions
{
    /// <summary>Meters every request into the ledger (see <see cref="MeteringHandler"/>).</summary>
    public static ChatPipelineBuilder UseMetering(this ChatPipelineBuilder builder, ILedger ledger, TimeProvider time) =>
        builder.Use(inner => new MeteringHandler(inner, ledger, time));
}
