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
/// <remarks>
/// The logger decides whether a line is written (its level filters, reloaded with the configuration); with a
/// <see cref="AccessLogWriter"/> (the gateway's console logging in the simple, JSON or systemd layout) the line is
/// formatted as UTF-8 and written in batches by it, without the console logger's per-line formatting and write; with
/// none (a formatter the writer does not reproduce: scopes, indented JSON, a custom one) it goes through the logger.
/// </remarks>
public sealed partial class AccessLog(ILogger logger, AccessLogWriter? writer = null) : IDisposable
{
    public const string Category = "Sanjia.AccessLog";

    public bool Enabled => logger.IsEnabled(LogLevel.Information);

    internal void Write(CallContext context, TokenUsage usage, int status, string? errorCode, TimeSpan latency, TimeSpan? ttft, Cost? cost) =>
        Write(new AccessLine(context.RequestId, KeyOf(context.Caller), context.Caller.TeamId, context.Endpoint, context.Model.RequestedId, context.Deployment?.Id,
            status, errorCode, usage.Input, usage.Output, cost?.Amount, cost?.Currency, Math.Round(latency.TotalMilliseconds, 3),
            ttft is { } t ? Math.Round(t.TotalMilliseconds, 3) : null, Math.Max(1, context.Attempts), context.Stream));

    internal void WriteRefusal(string requestId, Caller caller, int status, string? errorCode, TimeSpan latency) =>
        Write(new AccessLine(requestId, KeyOf(caller), caller.TeamId, null, null, null, status, errorCode, 0, 0, null, null,
            Math.Round(latency.TotalMilliseconds, 3), null, 0, false));

    internal void Write(in AccessLine line)
    {
        if (writer is not null)
        {
            writer.Write(line);
            return;
        }
        Log(logger, line.RequestId, line.KeyId, line.TeamId, line.Endpoint, line.Model, line.Deployment, line.Status, line.ErrorCode,
            line.InputTokens, line.OutputTokens, line.Cost, line.Currency, line.LatencyMs, line.TtftMs, line.Attempts, line.Stream);
    }

    /// <summary>Writes the lines still waiting (the host disposes this at shutdown).</summary>
    public void Dispose() => writer?.Dispose();

    /// <summary>The key's id, <c>master</c> for the master key: never the secret, which the gateway does not keep.</summary>
    private static string? KeyOf(Caller caller) => caller.KeyId ?? (caller.IsMaster ? "master" : null);

    // The template AccessLogWriter renders too (its OriginalFormat); AccessLogWriterTests hold the two to the same text.
    [LoggerMessage(EventId = LogEvents.Access, Level = LogLevel.Information,
        Message = "{RequestId} key={KeyId} team={TeamId} {Endpoint} model={Model} deployment={Deployment} status={Status} error={ErrorCode} " +
                  "tokens={InputTokens}+{OutputTokens} cost={Cost} {Currency} latency_ms={LatencyMs} ttft_ms={TtftMs} attempts={Attempts} stream={Stream}")]
    private static partial void Log(ILogger logger, string requestId, string? keyId, string? teamId, string? endpoint, string? model, string? deployment, int status,
        string? errorCode, int inputTokens, int outputTokens, decimal? cost, string? currency, double latencyMs, double? ttftMs, int attempts, bool stream);
}
