using System.Globalization;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;
using Sanjia.Core.Tokens;

namespace Sanjia.Core.Budgets;

/// <summary>
/// Per-key policy before any upstream call: allowed models, RPM/TPM limits, then a reservation of the worst-case
/// cost on the key's and the team's budgets. The hold is settled to the real cost when the answer is complete
/// (streams: when disposed) and released when the call fails. Master-key requests pass untouched.
/// </summary>
public sealed class BudgetHandler(
    ChatHandler inner, VirtualKeyCache keys, Pricer pricer, CurrencyConverter currencies, IBudgetTracker budgets,
    IRateLimiter limiter, MeteringOptions options, TimeProvider time) : DelegatingChatHandler(inner)
{
    /// <summary>Head-room on the prompt estimate: vendors' tokenizers differ from o200k by a few tens of percent.</summary>
    private const decimal PromptMargin = 1.5m;

    public override async ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
    {
        if (context.Caller.KeyId is not { } keyId)
        {
            return await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        if (keys.ById(keyId) is not { } key)
        {
            return new GatewayError(GatewayErrorKind.Authentication, "This API key has been revoked.") { Code = "invalid_api_key" };
        }
        if (!IsAllowed(key, context.Model))
        {
            return new GatewayError(GatewayErrorKind.PermissionDenied, $"This key may not use the model '{context.Model.RequestedId}'.")
            { Param = "model", Code = "model_not_allowed" };
        }
        var (allowed, limit, retry) = limiter.TryAcquire(key.Id, key.RpmLimit, key.TpmLimit);
        if (!allowed)
        {
            var what = limit == "rpm" ? $"{key.RpmLimit} requests per minute" : $"{key.TpmLimit} tokens per minute";
            return new GatewayError(GatewayErrorKind.RateLimited, $"Rate limit reached for this key ({what}). Try again in {Math.Ceiling(retry.TotalSeconds)} s.")
            { Code = "rate_limit_exceeded", RetryAfter = retry };
        }

        var scopes = new List<BudgetScope>(2);
        if (key.Budget is { } kb) scopes.Add(new BudgetScope("key", key.Id, kb));
        if (keys.Team(key.TeamId) is { Budget: { } tb } team) scopes.Add(new BudgetScope("team", team.Id, tb));
        if (scopes.Count == 0)
        {
            return Track(await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false), key, null, scopes);
        }

        var (worst, error) = WorstCase(context, scopes);
        if (error is not null)
        {
            return error;
        }
        var reserved = await budgets.TryReserveAsync(worst!, cancellationToken).ConfigureAwait(false);
        if (reserved.Reservation is not { } reservation)
        {
            var s = reserved.Exhausted!;
            var resets = reserved.ResetsAt is { } r ? $" It resets at {r:yyyy-MM-dd HH:mm} UTC." : " It does not reset (total budget).";
            return new GatewayError(GatewayErrorKind.BudgetExceeded,
                $"The {s.Kind} budget of {s.Budget.Amount.ToString(CultureInfo.InvariantCulture)} {s.Budget.Currency} ({s.Budget.Period.ToString().ToLowerInvariant()}) " +
                $"cannot cover this request: {reserved.Remaining.ToString(CultureInfo.InvariantCulture)} {s.Budget.Currency} left.{resets}")
            { Code = "budget_exceeded", RetryAfter = reserved.ResetsAt is { } at ? at - time.GetUtcNow() : null };
        }
        ChatOutcome outcome;
        try
        {
            outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (context.ConsumedAttempts.Count > 0) Settle(key, reservation, scopes, context, default);
            else budgets.Release(reservation);
            throw;
        }
        return Track(outcome, key, reservation, scopes, context);
    }

    private ChatOutcome Track(ChatOutcome outcome, VirtualKey key, BudgetReservation? reservation, List<BudgetScope> scopes, ChatContext? context = null)
    {
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                Settle(key, reservation, scopes, context, complete.Usage);
                return outcome;
            case StreamingChatResponse stream:
                return new SettlingStream(stream, usage => Settle(key, reservation, scopes, context, usage));
            default:
                // Failed attempts that consumed tokens are charged; otherwise the hold is simply released.
                if (context is { ConsumedAttempts.Count: > 0 }) Settle(key, reservation, scopes, context, default);
                else if (reservation is not null) budgets.Release(reservation);
                return outcome;
        }
    }

    private void Settle(VirtualKey key, BudgetReservation? reservation, List<BudgetScope> scopes, ChatContext? context, TokenUsage usage)
    {
        var tokens = usage.Input + usage.Output;
        foreach (var a in context?.ConsumedAttempts ?? []) tokens += a.Usage.Input + a.Usage.Output;
        limiter.AddTokens(key.Id, tokens);
        if (reservation is null || context is null)
        {
            return;
        }
        // Every ledger row of the request is charged once: the failed attempts that consumed tokens, then the answer.
        var actual = new decimal[scopes.Count];
        foreach (var a in context.ConsumedAttempts)
        {
            AddCost(actual, scopes, pricer.CostOf(a.Deployment.Provider.Name, a.Deployment.UpstreamModel, a.Usage));
        }
        if (usage.Total > 0)
        {
            var d = context.Deployment;
            AddCost(actual, scopes, pricer.CostOf(d?.Provider.Name, d?.UpstreamModel, usage));
        }
        budgets.Settle(reservation, actual);
    }

    private void AddCost(decimal[] actual, List<BudgetScope> scopes, Cost cost)
    {
        for (var i = 0; i < scopes.Count; i++)
        {
            actual[i] += cost.Amount is { } a && currencies.TryConvert(a, cost.Currency!, scopes[i].Budget.Currency, out var c) ? c : 0m;
        }
    }

    private static bool IsAllowed(VirtualKey key, Models.ResolvedModel model)
    {
        if (key.AllowedModels.Count == 0) return true;
        foreach (var m in key.AllowedModels)
        {
            if (string.Equals(m, model.RequestedId, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>The most this request can cost on any of its deployments, in each scope's currency.</summary>
    private (List<(BudgetScope, decimal)>? Amounts, GatewayError? Error) WorstCase(ChatContext context, List<BudgetScope> scopes)
    {
        var prompt = (int)Math.Ceiling(TokenCounter.CountPrompt(context.Request.PromptText) * PromptMargin);
        var worst = new decimal[scopes.Count];
        foreach (var d in context.Model.Deployments)
        {
            if (pricer.PriceOf(d) is not { } price)
            {
                if (!options.AllowUnpricedWithBudget)
                {
                    return (null, new GatewayError(GatewayErrorKind.PermissionDenied,
                        $"The deployment '{d.Id}' has no known price, and keys with a budget may not use unpriced models (Sanjia:Metering:AllowUnpricedWithBudget).")
                    { Param = "model", Code = "model_unpriced" });
                }
                continue;
            }
            var maxOut = context.Request.MaxTokens ?? price.MaxOutputTokens ?? options.DefaultMaxOutputTokens;
            var amount = CostCalculator.WorstCase(price, prompt, maxOut * Math.Max(1, context.Request.N));
            for (var i = 0; i < scopes.Count; i++)
            {
                if (!currencies.TryConvert(amount, price.Currency, scopes[i].Budget.Currency, out var converted))
                {
                    return (null, new GatewayError(GatewayErrorKind.PermissionDenied,
                        $"The deployment '{d.Id}' is priced in {price.Currency} but the {scopes[i].Kind} budget is in {scopes[i].Budget.Currency}, and no rate is configured (Sanjia:Metering:ExchangeRates:{price.Currency}:{scopes[i].Budget.Currency}).")
                    { Param = "model", Code = "currency_mismatch" });
                }
                worst[i] = Math.Max(worst[i], converted);
            }
        }
        var list = new List<(BudgetScope, decimal)>(scopes.Count);
        for (var i = 0; i < scopes.Count; i++) list.Add((scopes[i], worst[i]));
        return (list, null);
    }

    /// <summary>Settles once, with the usage as it stands, however the stream ends.</summary>
    private sealed class SettlingStream(StreamingChatResponse inner, Action<TokenUsage> settle) : StreamingChatResponse
    {
        private int _settled;

        public override ReadOnlyMemory<byte> Current => inner.Current;
        public override TokenUsage Usage => inner.Usage;

        public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
        {
            var more = await inner.MoveNextAsync(cancellationToken).ConfigureAwait(false);
            TimeToFirstChunk = inner.TimeToFirstChunk;
            return more;
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            if (Interlocked.Exchange(ref _settled, 1) == 0)
            {
                settle(inner.Usage);
            }
        }
    }
}
