using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Budgets;

/// <summary>
/// Per-key policy before any upstream call (<see cref="BudgetPolicy"/>), for every kind of call: allowed models,
/// RPM/TPM limits, then a reservation of the worst-case cost (the kind's cost rule, <see cref="ICallKind{TContext, TOutcome}.WorstCase"/>) on the key's and the team's budgets. The hold is settled to the real cost when
/// the answer is complete (streams: at their last chunk, like the ledger row, so a client that has read the end
/// sees the same spend in the ledger and the budget; or when disposed, however they end), including failed
/// attempts that consumed tokens, and released when the call fails without consuming any. Master-key requests
/// pass untouched.
/// </summary>
public sealed class BudgetHandler<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner, BudgetPolicy policy) : DelegatingCallHandler<TContext, TOutcome>(inner)
    where TKind : struct, ICallKind<TContext, TOutcome>
    where TContext : CallContext
{
    public override async ValueTask<TOutcome> HandleAsync(TContext context, CancellationToken cancellationToken)
    {
        if (context.Caller.KeyId is not { } keyId || context.Caller.IsMaster)
        {
            return await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        var (admission, error, limits) = await policy.AdmitAsync(keyId, context.Model, price => TKind.WorstCase(context, price, policy.Options), cancellationToken).ConfigureAwait(false);
        context.RateLimits = limits;
        if (admission is null)
        {
            return TKind.From(error!);
        }
        TOutcome outcome;
        try
        {
            outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Finish(admission, context, null);
            throw;
        }
        if (TKind.StreamOf(outcome) is { } stream)
        {
            // A budget's hold covers so many output tokens: the stream is held to them even if the vendor is not.
            var limited = admission.Reservation is null || TKind.ChatRequestOf(context) is not { } request ? stream
                : new OutputLimitedStream(stream, policy.AdmittedOutputTokens(request, context.Deployment), request);
            return TKind.From(new SettlingStream(limited, usage => Finish(admission, context, usage)));
        }
        Finish(admission, context, TKind.UsageOf(outcome));
        return outcome;
    }

    /// <summary>Charges every ledger row of the request (failed attempts that consumed tokens, then the answer), or releases the hold when there are none.</summary>
    private void Finish(BudgetAdmission admission, CallContext context, TokenUsage? answer)
    {
        // An answer from the response cache called no upstream: nothing to charge (docs/caching.md).
        if ((answer is null || context.CacheHit is not null) && context.ConsumedAttempts.Count == 0)
        {
            policy.Release(admission);
            return;
        }
        var rows = context.ConsumedAttempts.Select(a => ((Models.Deployment?)a.Deployment, a.Usage)).ToList();
        if (answer is { } usage) rows.Add((context.Deployment, usage));
        policy.Settle(admission, rows, context);
    }

    /// <summary>
    /// Settles once, with the usage as it stands: at the end of the stream (before the caller writes its final
    /// event, as the ledger row is recorded) or, when it ends otherwise, on disposal. Settling only on disposal left
    /// a window after the client had read the end in which the ledger held the row but the budget did not.
    /// </summary>
    private sealed class SettlingStream(StreamingChatResponse inner, Action<TokenUsage> settle) : DelegatingStreamingChatResponse(inner)
    {
        protected override ValueTask OnEndedAsync()
        {
            settle(Inner.Usage);
            return ValueTask.CompletedTask;
        }

        protected override ValueTask OnDisposedAsync(StreamEnd end)
        {
            if (end != StreamEnd.Ended) settle(Inner.Usage);
            return ValueTask.CompletedTask;
        }
    }
}
