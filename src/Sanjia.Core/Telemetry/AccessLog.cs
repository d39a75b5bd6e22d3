using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Telemetry;

/// <summary>
/// One line per request at Information, under its own category <see cref="Category"/> (switch it off with
/// <c>Logging:LogLevel:Sanjia.AccessLog=None</c>): request id, key id (never the secret), model, deployment, status,
/// tokens, cost, latency, time to first token and attempts. Written by metering as it builds the request's own
/// ledger row, so the line and the row say the same. Nothing is formatted unless the level is enabled.
/// </summary>
public sealed partial class AccessLog(ILogger logger)
{
    public const string Category = "Sanjia.AccessLog";

    public bool Enabled => logger.IsEnabled(LogLevel.Information);

    internal void Write(CallContext context, TokenUsage usage, int status, string? errorCode, TimeSpan latency, TimeSpan? ttft, Cost? cost) =>
        Log(logger, context.RequestId, KeyOf(context.Caller), context.Caller.TeamId, context.Endpoint, context.Model.RequestedId, context.Deployment?.Id, status, errorCode,
            usage.Input, usage.Output, cost?.Amount, cost?.Currency, Math.Round(latency.TotalMilliseconds, 3),
            ttft is { } t ? Math.Round(t.TotalMilliseconds, 3) : null, Math.Max(1, context.Attempts), context.Stream);

    internal void WriteRefusal(string requestId, Caller caller, int status, string? errorCode, TimeSpan latency) =>
        Log(logger, requestId, KeyOf(caller), caller.TeamId, null, null, null, status, errorCode, 0, 0, null, null, Math.Round(latency.TotalMilliseconds, 3), null, 0, false);

    /// <summary>The key's id, <c>master</c> for the master key: never the secret, which the gateway does not keep.</summary>
    private static string? KeyOf(Caller caller) => caller.KeyId ?? (caller.IsMaster ? "master" : null);

    [LoggerMessage(EventId = LogEvents.Access, Level = LogLevel.Information,
        Message = "{RequestId} key={KeyId} team={TeamId} {Endpoint} model={Model} deployment={Deployment} status={Status} error={ErrorCode} " +
                  "tokens={InputTokens}+{OutputTokens} cost={Cost} {Currency} latency_ms={LatencyMs} ttft_ms={TtftMs} attempts={Attempts} stream={Stream}")]
    private static partial void Log(ILogger logger, string requestId, string? keyId, string? teamId, string? endpoint, string? model, string? deployment, int status,
        string? errorCode, int inputTokens, int outputTokens, decimal? cost, string? currency, double latencyMs, double? ttftMs, int attempts, bool stream);
}
