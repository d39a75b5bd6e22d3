using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

public static class PipelineExtensions
{
    /// <summary>Meters every request into the ledger (see <see cref="MeteringHandler"/>).</summary>
    /// <param name="pricer">Prices the rows here, so the client can be told the cost the ledger records; null = the ledger prices them.</param>
    public static ChatPipelineBuilder UseMetering(this ChatPipelineBuilder builder, ILedger ledger, TimeProvider time, Pricing.Pricer? pricer = null) =>
        builder.Use(inner => new MeteringHandler(inner, ledger, time, pricer));
}
