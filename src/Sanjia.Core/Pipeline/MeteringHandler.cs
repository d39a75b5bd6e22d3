using Sanjia.Abstractions;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// Writes one ledger entry per request: at once for complete answers and errors, and when a stream is disposed
/// (ended, failed or abandoned by the client) for streams, with the usage counted up to that point. Before it, one
/// entry per failed attempt that consumed upstream tokens (<see cref="ChatContext.ConsumedAttempts"/>), under the
/// same request id with its own attempt number, deployment, usage and status; the final entry keeps its own number.
/// With a <see cref="Pricer"/>, entries are priced here and the final entry's cost is put on
/// <see cref="ChatContext.Cost"/>, which is what the client is told (header, <c>usage.cost</c>): for a stream, the cost
/// is computed when its usage chunk passes, and the ledger row takes that same figure when the usage did not change
/// after it, so the client and the ledger always agree.
/// </summary>
public sealed class MeteringHandler(ChatHandler inner, ILedger ledger, TimeProvider time, Pricer? pricer = null) : DelegatingChatHandler(inner)
{
    private readonly TimeProvider _time = time;

    /// <summary>How often a running stream's tokens so far are journaled (one usage count and one journal copy each).</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    public override async ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
    {
        ChatOutcome outcome;
        try
        {
            outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await RecordAttempts(context).ConfigureAwait(false);
            await Record(context, default, status: 499, "client_closed_request", ttft: null).ConfigureAwait(false);
            throw;
        }
        await RecordAttempts(context).ConfigureAwait(false);
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                // Durable before the endpoint writes the body: a response the client got is never missing from the ledger.
                await Record(context, complete.Usage, 200, null, ttft: null).ConfigureAwait(false);
                return outcome;
            case StreamingChatResponse stream:
                // Its row is written when it ends; until then an in-flight line stands in for it (decision 0003).
                RecordInFlight(context, new TokenUsage(0, 0, Estimated: true), ttft: null);
                return new MeteredStream(stream, this, context);
            default:
                var error = outcome.Error!;
                await Record(context, default, ErrorStatus.For(error), error.Code ?? error.Kind.ToString(), ttft: null).ConfigureAwait(false);
                return outcome;
        }
    }

    /// <summary>The final attempt, when it failed after consuming tokens, is the request's own (final) entry.</summary>
    private static ConsumedAttempt? FinalAttempt(ChatContext context) =>
        context.ConsumedAttempts.Count > 0 && context.ConsumedAttempts[^1].Attempt == Math.Max(1, context.Attempts) ? context.ConsumedAttempts[^1] : null;

    private async ValueTask RecordAttempts(ChatContext context)
    {
        var final = FinalAttempt(context);
        foreach (var a in context.ConsumedAttempts)
        {
            if (ReferenceEquals(a, final)) continue;
            var now = _time.GetUtcNow();
            var cost = pricer?.CostOf(a.Deployment, a.Usage, now);
            await ledger.RecordDurableAsync(new LedgerEntry
            {
                RequestId = context.RequestId,
                Attempt = a.Attempt,
                Timestamp = now,
                KeyId = context.Caller.KeyId,
                TeamId = context.Caller.TeamId,
                Endpoint = context.Endpoint,
                Model = context.Model.RequestedId,
                Deployment = a.Deployment.Id,
                Provider = a.Deployment.Provider.Name,
                Usage = a.Usage,
                Cost = cost?.Amount,
                Currency = cost?.Currency,
                Status = ErrorStatus.For(a.Error),
                ErrorCode = a.Error.Code ?? a.Error.Kind.ToString(),
                LatencyMs = a.Latency.TotalMilliseconds,
                Stream = context.Request.Stream,
            }).ConfigureAwait(false);
        }
    }

    /// <param name="stamped">The usage and cost already sent to the client in the stream's usage chunk.</param>
    private ValueTask Record(ChatContext context, TokenUsage usage, int status, string? errorCode, TimeSpan? ttft, (TokenUsage Usage, Cost Cost)? stamped = null)
    {
        if (status != 200 && usage.Total == 0 && FinalAttempt(context) is { } failed)
        {
            usage = failed.Usage;
        }
        var now = _time.GetUtcNow();
        Cost? cost = null;
        if (pricer is not null)
        {
            cost = stamped is { } s && s.Usage == usage ? s.Cost : pricer.CostOf(context.Deployment, usage, now);
            context.Cost = cost;
        }
        return ledger.RecordDurableAsync(Entry(context, usage, status, errorCode, ttft, now, cost));
    }

    /// <summary>
    /// A stream's start or progress line: its row as it stands, which replay stores (as <c>gateway_interrupted</c>)
    /// if the process dies before the row itself is recorded.
    /// </summary>
    private void RecordInFlight(ChatContext context, TokenUsage usage, TimeSpan? ttft)
    {
        var now = _time.GetUtcNow();
        ledger.RecordInFlight(Entry(context, usage, Metering.JournaledLedger.InFlightStatus, null, ttft, now, pricer?.CostOf(context.Deployment, usage, now)));
    }

    private LedgerEntry Entry(ChatContext context, TokenUsage usage, int status, string? errorCode, TimeSpan? ttft, DateTimeOffset now, Cost? cost)
    {
        var deployment = context.Deployment;
        return new LedgerEntry
        {
            RequestId = context.RequestId,
            Attempt = Math.Max(1, context.Attempts),
            Timestamp = now,
            KeyId = context.Caller.KeyId,
            TeamId = context.Caller.TeamId,
            Endpoint = context.Endpoint,
            Model = context.Model.RequestedId,
            Deployment = deployment?.Id,
            Provider = deployment?.Provider.Name,
            Usage = usage,
            Status = status,
            ErrorCode = errorCode,
            LatencyMs = _time.GetElapsedTime(context.StartTimestamp).TotalMilliseconds,
            TimeToFirstTokenMs = ttft?.TotalMilliseconds,
            Stream = context.Request.Stream,
            Cost = cost?.Amount,
            Currency = cost?.Currency,
        };
    }

    /// <summary>The cost of the usage a stream's usage chunk carries, as the client will be told it.</summary>
    private Cost? StampCost(ChatContext context, TokenUsage usage)
    {
        if (pricer is null) return null;
        var cost = pricer.CostOf(context.Deployment, usage, _time.GetUtcNow());
        context.Cost = cost;
        return cost;
    }

    /// <summary>Passes the stream through and meters it exactly once, however it ends.</summary>
    private sealed class MeteredStream(StreamingChatResponse inner, MeteringHandler owner, ChatContext context) : DelegatingStreamingChatResponse(inner)
    {
        private (TokenUsage Usage, Cost Cost)? _stamped;
        private long _progressAt = owner._time.GetTimestamp();

        protected override void OnChunk()
        {
            if (owner._time.GetElapsedTime(_progressAt) >= ProgressInterval)
            {
                // Tokens so far into the journal, for the row a kill would otherwise lose (at most one interval old).
                _progressAt = owner._time.GetTimestamp();
                owner.RecordInFlight(context, Inner.Usage, Inner.TimeToFirstChunk);
            }
            if (Inner.CurrentUsageEnd >= 0)
            {
                var usage = Inner.Usage;
                if (owner.StampCost(context, usage) is { } cost) _stamped = (usage, cost);
            }
        }

        // The stream ended: record before the caller writes the final [DONE], so it is durable first.
        protected override ValueTask OnEndedAsync() => owner.Record(context, Inner.Usage, 200, null, Inner.TimeToFirstChunk, _stamped);

        protected override ValueTask OnFailedAsync(GatewayError error) =>
            owner.Record(context, Inner.Usage, ErrorStatus.For(error), error.Code ?? error.Kind.ToString(), Inner.TimeToFirstChunk, _stamped);

        // Neither ended nor failed: the client went away (the inner stream is disposed, so its usage is final).
        protected override ValueTask OnDisposedAsync(StreamEnd end) => end == StreamEnd.Abandoned
            ? owner.Record(context, Inner.Usage, 499, "client_closed_request", Inner.TimeToFirstChunk, _stamped)
            : ValueTask.CompletedTask;
    }
}
