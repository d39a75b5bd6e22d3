using Sanjia.Abstractions;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// Writes one ledger entry per request, for every kind of call: at once for complete answers and errors, and when a
/// stream is disposed (ended, failed or abandoned by the client) for streams, with the usage counted up to that
/// point. Before it, one entry per failed attempt that consumed upstream tokens (<see cref="CallContext.ConsumedAttempts"/>),
/// under the same request id with its own attempt number, deployment, usage and status; the final entry keeps its own
/// number. With a <see cref="Pricer"/>, entries are priced here and the final entry's cost is put on
/// <see cref="CallContext.Cost"/>, which is what the client is told (header, <c>usage.cost</c>): for a stream, the cost
/// is computed when its usage chunk passes, and the ledger row takes that same figure when the usage did not change
/// after it, so the client and the ledger always agree.
/// </summary>
public sealed class MeteringHandler<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner, Meter meter) : DelegatingCallHandler<TContext, TOutcome>(inner)
    where TKind : struct, ICallKind<TContext, TOutcome>
    where TContext : CallContext
{
    public override async ValueTask<TOutcome> HandleAsync(TContext context, CancellationToken cancellationToken)
    {
        // The HTTP layer's span, if recorded, gets the request's GenAI attributes when its row is built (one read).
        context.ServerSpan = Telemetry.GatewayTelemetry.ServerSpan();
        TOutcome outcome;
        try
        {
            outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await meter.RecordAttemptsAsync(context).ConfigureAwait(false);
            await meter.RecordAsync(context, default, status: 499, "client_closed_request", ttft: null).ConfigureAwait(false);
            throw;
        }
        await meter.RecordAttemptsAsync(context).ConfigureAwait(false);
        if (TKind.ErrorOf(outcome) is { } error)
        {
            await meter.RecordAsync(context, default, ErrorStatus.For(error), error.Code ?? error.Kind.ToString(), ttft: null).ConfigureAwait(false);
            return outcome;
        }
        if (TKind.StreamOf(outcome) is { } stream)
        {
            // Its row is written when it ends; until then an in-flight line stands in for it (decision 0003).
            meter.RecordInFlight(context, new TokenUsage(0, 0, Estimated: true), ttft: null);
            return TKind.From(new MeteredStream(stream, meter, context));
        }
        // Durable before the endpoint writes the body: a response the client got is never missing from the ledger.
        await meter.RecordAsync(context, TKind.UsageOf(outcome) ?? default, 200, null, ttft: null).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Passes the stream through and meters it exactly once, however it ends.</summary>
    private sealed class MeteredStream(StreamingChatResponse inner, Meter meter, TContext context) : DelegatingStreamingChatResponse(inner)
    {
        private (TokenUsage Usage, Cost Cost)? _stamped;
        private long _progressAt = meter.Time.GetTimestamp();

        protected override void OnChunk()
        {
            if (meter.Time.GetElapsedTime(_progressAt) >= Meter.ProgressInterval)
            {
                // Tokens so far into the journal, for the row a kill would otherwise lose (at most one interval old).
                _progressAt = meter.Time.GetTimestamp();
                meter.RecordInFlight(context, Inner.Usage, Inner.TimeToFirstChunk);
            }
            if (Inner.CurrentUsageEnd >= 0)
            {
                var usage = Inner.Usage;
                if (meter.StampCost(context, usage) is { } cost) _stamped = (usage, cost);
            }
        }

        // The stream ended: record before the caller writes the final [DONE], so it is durable first.
        protected override ValueTask OnEndedAsync() => meter.RecordAsync(context, Inner.Usage, 200, null, Inner.TimeToFirstChunk, _stamped);

        protected override ValueTask OnFailedAsync(GatewayError error) =>
            meter.RecordAsync(context, Inner.Usage, ErrorStatus.For(error), error.Code ?? error.Kind.ToString(), Inner.TimeToFirstChunk, _stamped);

        // Neither ended nor failed: the client went away (the inner stream is disposed, so its usage is final).
        protected override ValueTask OnDisposedAsync(StreamEnd end) => end == StreamEnd.Abandoned
            ? meter.RecordAsync(context, Inner.Usage, 499, "client_closed_request", Inner.TimeToFirstChunk, _stamped)
            : ValueTask.CompletedTask;
    }
}

/// <summary>The metering stage: wraps every kind of call, and is always the outermost stage (<see cref="PipelineBuilder"/>).</summary>
public sealed class MeteringStage(Meter meter) : IPipelineStage
{
    public Meter Meter { get; } = meter;

    public CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext =>
        new MeteringHandler<TKind, TContext, TOutcome>(inner, Meter);
}

/// <summary>
/// What metering records, priced, and the one place a <see cref="LedgerEntry"/> is built: each request's own row
/// (final or in flight), the rows of its failed attempts that consumed tokens, and the row of a request refused
/// before any model was chosen.
/// </summary>
/// <remarks>
/// The request's own row is also where it is observed (docs/observability.md): its metrics and server-span attributes
/// (<see cref="Telemetry.GatewayTelemetry"/>) and its access-log line (<see cref="Telemetry.AccessLog"/>), once each.
/// </remarks>
public sealed class Meter(ILedger ledger, TimeProvider time, Pricer? pricer = null, Telemetry.AccessLog? accessLog = null, Telemetry.TelemetrySettings? telemetry = null)
{
    private readonly Telemetry.TelemetrySettings _telemetry = telemetry ?? Telemetry.TelemetrySettings.Default;

    /// <summary>How often a running stream's tokens so far are journaled (one usage count and one journal copy each).</summary>
    internal static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    internal TimeProvider Time => time;

    /// <summary>The final attempt, when it failed after consuming tokens, is the request's own (final) entry.</summary>
    private static ConsumedAttempt? FinalAttempt(CallContext context) =>
        context.ConsumedAttempts.Count > 0 && context.ConsumedAttempts[^1].Attempt == Math.Max(1, context.Attempts) ? context.ConsumedAttempts[^1] : null;

    internal async ValueTask RecordAttemptsAsync(CallContext context)
    {
        var final = FinalAttempt(context);
        foreach (var a in context.ConsumedAttempts)
        {
            if (ReferenceEquals(a, final)) continue;
            var now = time.GetUtcNow();
            var cost = pricer is null ? (Cost?)null : context.CostOf(pricer, a.Deployment, a.Usage, now);
            await ledger.RecordDurableAsync(Entry(context.RequestId, a.Attempt, context.Caller, context.Endpoint, context.Model.RequestedId, a.Deployment, a.Usage,
                ErrorStatus.For(a.Error), a.Error.Code ?? a.Error.Kind.ToString(), a.Latency, ttft: null, context.Stream, now, cost)).ConfigureAwait(false);
        }
    }

    /// <param name="stamped">The usage and cost already sent to the client in the stream's usage chunk.</param>
    internal ValueTask RecordAsync(CallContext context, TokenUsage usage, int status, string? errorCode, TimeSpan? ttft, (TokenUsage Usage, Cost Cost)? stamped = null)
    {
        if (status != 200 && usage.Total == 0 && FinalAttempt(context) is { } failed)
        {
            usage = failed.Usage;
        }
        var now = time.GetUtcNow();
        Cost? cost = null;
        if (context.CacheHit is { } hit)
        {
            // An answer from the response cache costs nothing; its row says what it saved (docs/caching.md).
            cost = hit.Cost;
            if (pricer is not null) context.Cost = cost;
        }
        else if (pricer is not null)
        {
            cost = stamped is { } s && s.Usage == usage ? s.Cost : context.CostOf(pricer, context.Deployment, usage, now);
            context.Cost = cost;
        }
        var latency = time.GetElapsedTime(context.StartTimestamp);
        Telemetry.GatewayTelemetry.RecordRequest(context, usage, status, errorCode, latency, ttft, cost, _telemetry);
        if (accessLog is { Enabled: true })
        {
            accessLog.Write(context, usage, status, errorCode, latency, ttft, cost);
        }
        return ledger.RecordDurableAsync(Own(context, usage, status, errorCode, ttft, now, cost, latency));
    }

    /// <summary>
    /// A stream's start or progress line: its row as it stands, which replay stores (as <c>gateway_interrupted</c>)
    /// if the process dies before the row itself is recorded.
    /// </summary>
    internal void RecordInFlight(CallContext context, TokenUsage usage, TimeSpan? ttft)
    {
        var now = time.GetUtcNow();
        ledger.RecordInFlight(Own(context, usage, Metering.JournaledLedger.InFlightStatus, null, ttft, now,
            context.CacheHit is { } hit ? hit.Cost : pricer?.CostOf(context.Deployment, usage, now), time.GetElapsedTime(context.StartTimestamp)));
    }

    /// <summary>A request refused before any model was chosen still gets its ledger row (no deployment, no tokens).</summary>
    public ValueTask RecordRefusalAsync(string requestId, Caller caller, string endpoint, string model, GatewayError error, long startTimestamp)
    {
        var now = time.GetUtcNow();
        var status = ErrorStatus.For(error);
        var latency = time.GetElapsedTime(startTimestamp);
        Telemetry.GatewayTelemetry.RecordRefusal(status, error.Code);
        if (accessLog is { Enabled: true })
        {
            accessLog.WriteRefusal(requestId, caller, status, error.Code, latency);
        }
        return ledger.RecordDurableAsync(Entry(requestId, 1, caller, endpoint, model, deployment: null, default, status, error.Code,
            latency, ttft: null, stream: false, now, cost: null));
    }

    /// <summary>The cost of the usage a stream's usage chunk carries, as the client will be told it.</summary>
    internal Cost? StampCost(CallContext context, TokenUsage usage)
    {
        if (pricer is null) return null;
        var cost = context.CacheHit is { } hit ? hit.Cost : pricer.CostOf(context.Deployment, usage, time.GetUtcNow());
        context.Cost = cost;
        return cost;
    }

    private static LedgerEntry Own(CallContext context, TokenUsage usage, int status, string? errorCode, TimeSpan? ttft, DateTimeOffset now, Cost? cost, TimeSpan latency) =>
        Entry(context.RequestId, Math.Max(1, context.Attempts), context.Caller, context.Endpoint, context.Model.RequestedId, context.Deployment, usage, status, errorCode,
            latency, ttft, context.Stream, now, cost, context.CacheHit, GuardrailDecision.Format(context.Guardrails), (context as ImageContext)?.Generated);

    private static LedgerEntry Entry(string requestId, int attempt, Caller caller, string endpoint, string model, Models.Deployment? deployment, TokenUsage usage,
        int status, string? errorCode, TimeSpan latency, TimeSpan? ttft, bool stream, DateTimeOffset now, Cost? cost, Caching.CacheHit? hit = null,
        string? guardrails = null, int? images = null) => new()
        {
            RequestId = requestId,
            Attempt = attempt,
            Timestamp = now,
            KeyId = caller.KeyId,
            TeamId = caller.TeamId,
            Endpoint = endpoint,
            Model = model,
            Deployment = deployment?.Id,
            Provider = deployment?.Provider.Name,
            Usage = usage,
            Status = status,
            ErrorCode = errorCode,
            LatencyMs = latency.TotalMilliseconds,
            TimeToFirstTokenMs = ttft?.TotalMilliseconds,
            Stream = stream,
            Cost = cost?.Amount,
            Currency = cost?.Currency,
            CacheOf = hit?.RequestId,
            CostSaved = hit?.Saved,
            Guardrails = guardrails,
            Images = images,
            Evaluation = caller.IsEvaluation,
        };
}
