using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

public static class PipelineExtensions
{
    /// <summary>
    /// Meters every request into the ledger (see <see cref="MeteringHandler{TKind, TContext, TOutcome}"/>); wherever it
    /// is added, the builder puts it outside every other stage.
    /// </summary>
    /// <param name="pricer">Prices the rows here, so the client can be told the cost the ledger records; null = the ledger prices them.</param>
    /// <param name="accessLog">One line per request (null: none).</param>
    /// <param name="telemetry">Content capture and the per-key label cap of the metrics (null: the defaults).</param>
    public static PipelineBuilder UseMetering(this PipelineBuilder builder, ILedger ledger, TimeProvider time, Pricing.Pricer? pricer = null,
        Telemetry.AccessLog? accessLog = null, Telemetry.TelemetrySettings? telemetry = null) =>
        builder.Use(new MeteringStage(new Meter(ledger, time, pricer, accessLog, telemetry)));
}
