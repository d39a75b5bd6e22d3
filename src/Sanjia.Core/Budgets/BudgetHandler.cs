using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;
using Sanjia.Core.Tokens;

namespace Sanjia.Core.Budgets;

/// <summary>
/// Per-key policy before any upstream call (<see cref="BudgetPolicy"/>): allowed models, RPM/TPM limits, then a
/// reservation of the worst-case cost on the key's and the team's budgets. The hold is settled to the real cost when
/// the answer is complete (streams: at their last chunk, like the ledger row, so a client that has read the end
/// sees the same spend in the ledger and the budget; or when disposed, however they end), including failed
/// attempts that consumed tokens, and released when the call fails without consuming any. Master-key requests
/// pass untouched.
/// </summary>
public sealed class BudgetHandler(ChatHandler inner, BudgetPolicy policy) : DelegatingChatHandler(inner)
{
    /// <summary>Head-room on the prompt estimate: vendors' tokenizers differ from o200k by a few tens of percent.</summary>
    private const decimal PromptMargin = 1.5m;

    public override async ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
    {
        if (context.Caller.KeyId is not { } keyId || context.Caller.IsMaster)
        {
            return await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        var prompt = (int)Math.Ceiling(TokenCounter.CountPrompt(context.Request.PromptText) * PromptMargin);
        var (admission, error) = await policy.AdmitAsync(keyId, context.Model, price =>
        {
            return CostCalculator.WorstCase(price, prompt, BudgetPolicy.AdmittedOutputTokens(context.Request, price, policy.Options));
        }, cancellationToken).ConfigureAwait(false);
        if (admission is null)
        {
            return error!;
        }
        ChatOutcome outcome;
        try
        {
            outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Finish(admission, context, null);
            throw;
        }
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                Finish(admission, context, complete.Usage);
                return outcome;
            case StreamingChatResponse stream:
                // A budget's hold covers so many output tokens: the stream is held to them even if the vendor is not.
                var limited = admission.Reservation is null ? stream
                    : new OutputLimitedStream(stream, policy.AdmittedOutputTokens(context.Request, context.Deployment), context.Request);
                return new SettlingStream(limited, usage => Finish(admission, context, usage));
            default:
                Finish(admission, context, null);
                return outcome;
        }
    }

    /// <summary>Charges every ledger row of the request (failed attempts that consumed tokens, then the answer), or releases the hold when there are none.</summary>
    private void Finish(BudgetAdmission admission, ChatContext context, TokenUsage? answer)
    {
        if (answer is null && context.ConsumedAttempts.Count == 0)
        {
            policy.Release(admission);
            return;
        }
        var rows = context.ConsumedAttempts.Select(a => ((Models.Deployment?)a.Deployment, a.Usage)).ToList();
        if (answer is { } usage) rows.Add((context.Deployment, usage));
        policy.Settle(admission, rows);
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
