using System.Globalization;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Models;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Budgets;

/// <summary>A virtual key's admission: the key, the budgets it is charged to and the hold taken on them (null when it has none).</summary>
public sealed record BudgetAdmission(VirtualKey Key, IReadOnlyList<BudgetScope> Scopes, BudgetReservation? Reservation);

/// <summary>
/// The one place a virtual key's policy is applied, for every kind of call (the budget stage,
/// <see cref="BudgetHandler{TKind, TContext, TOutcome}"/>): revoked key, allowed models,
/// RPM/TPM, then a reservation of the worst-case cost on the key's and the team's budgets; afterwards settle to the
/// cost of every ledger row the request wrote, or release. With a shared <see cref="IAdmissionStore"/> (Redis) the
/// limits and the holds are one step of that store; without one, the instance's own limiter and tracker.
/// </summary>
public sealed class BudgetPolicy(
    VirtualKeyCache keys, Pricer pricer, CurrencyConverter currencies, IBudgetTracker budgets, IRateLimiter limiter,
    MeteringOptions options, TimeProvider time, IAdmissionStore? store = null)
{
    public MeteringOptions Options => options;

    /// <summary>Told of each refusal for a budget (budget alerts: the budget counts as spent); null = nobody listens.</summary>
    public Action<BudgetScope>? OnRefused { get; set; }

    /// <summary>
    /// Admits a request or says why not, with the key's rate limits as the decision left them (for the
    /// <c>x-ratelimit-*</c> headers; null when it has none or the store does not tell). <paramref name="worstCase"/> prices the request on one deployment (in the
    /// price's currency); the hold is the dearest deployment's, converted to each budget's currency.
    /// </summary>
    public async ValueTask<(BudgetAdmission? Admission, GatewayError? Error, RateLimitStatus? Limits)> AdmitAsync(
        string keyId, ResolvedModel model, Func<ModelPrice, decimal> worstCase, CancellationToken cancellationToken)
    {
        if (keys.ById(keyId) is not { } key)
        {
            return (null, new GatewayError(GatewayErrorKind.Authentication, "This API key has been revoked.") { Code = "invalid_api_key" }, null);
        }
        if (!key.MayUse(model.RequestedId))
        {
            return (null, new GatewayError(GatewayErrorKind.PermissionDenied, $"This key may not use the model '{model.RequestedId}'.")
            { Param = "model", Code = "model_not_allowed" }, null);
        }
        if (store is not null)
        {
            return await AdmitSharedAsync(store, key, model, worstCase, cancellationToken).ConfigureAwait(false);
        }
        var (allowed, limit, retry, limits) = limiter.TryAcquire(key.Id, key.RpmLimit, key.TpmLimit);
        if (!allowed)
        {
            return (null, RateLimited(key, limit!, retry), limits);
        }

        var scopes = new List<BudgetScope>(2);
        if (key.Budget is { } kb) scopes.Add(new BudgetScope("key", key.Id, kb));
        if (keys.Team(key.TeamId) is { Budget: { } tb } team) scopes.Add(new BudgetScope("team", team.Id, tb));
        if (scopes.Count == 0)
        {
            return (new BudgetAdmission(key, scopes, null), null, limits);
        }
        var (worst, error) = WorstCase(model, scopes, worstCase);
        if (error is not null)
        {
            return (null, error, limits);
        }
        var reserved = await budgets.TryReserveAsync(worst!, cancellationToken).ConfigureAwait(false);
        if (reserved.Reservation is not { } reservation)
        {
            return (null, Exceeded(reserved), limits);
        }
        return (new BudgetAdmission(key, scopes, reservation), null, limits);
    }

    /// <summary>
    /// The shared store's one step: the worst case is priced first (a refusal for an unpriced model costs no round
    /// trip), then RPM, TPM and every hold are decided together.
    /// </summary>
    private async ValueTask<(BudgetAdmission? Admission, GatewayError? Error, RateLimitStatus? Limits)> AdmitSharedAsync(
        IAdmissionStore shared, VirtualKey key, ResolvedModel model, Func<ModelPrice, decimal> worstCase, CancellationToken cancellationToken)
    {
        var scopes = new List<BudgetScope>(2);
        if (key.Budget is { } kb) scopes.Add(new BudgetScope("key", key.Id, kb));
        if (keys.Team(key.TeamId) is { Budget: { } tb } team) scopes.Add(new BudgetScope("team", team.Id, tb));
        if (scopes.Count == 0 && key.RpmLimit is null && key.TpmLimit is null)
        {
            return (new BudgetAdmission(key, scopes, null), null, null);
        }
        List<(BudgetScope, decimal)> worst = [];
        if (scopes.Count > 0)
        {
            var (amounts, error) = WorstCase(model, scopes, worstCase);
            if (error is not null) return (null, error, null);
            worst = amounts!;
        }
        var r = await shared.AdmitAsync(key.Id, key.RpmLimit, key.TpmLimit, worst, cancellationToken).ConfigureAwait(false);
        if (r.Error is { } failure) return (null, failure, r.Limits);
        if (r.Limit is { } limit) return (null, RateLimited(key, limit, r.RetryAfter), r.Limits);
        if (!r.Admitted) return (null, Exceeded(r.Budget!), r.Limits);
        return (new BudgetAdmission(key, scopes, r.Reservation), null, r.Limits);
    }

    /// <summary>429 <c>rate_limit_exceeded</c> naming the limit; <c>Retry-After</c> = when the next request fits.</summary>
    private static GatewayError RateLimited(VirtualKey key, string limit, TimeSpan retry)
    {
        var what = limit == "rpm" ? $"{key.RpmLimit} requests per minute" : $"{key.TpmLimit} tokens per minute";
        return new GatewayError(GatewayErrorKind.RateLimited, $"Rate limit reached for this key ({what}). Try again in {Math.Ceiling(retry.TotalSeconds)} s.")
        { Code = "rate_limit_exceeded", RetryAfter = retry };
    }

    /// <summary>
    /// 429 <c>budget_exceeded</c>: the message names the budget, what is left and when it resets (ISO 8601 UTC);
    /// <c>Retry-After</c> is the seconds until then (none for a total budget, which never resets).
    /// </summary>
    private GatewayError Exceeded(ReserveResult reserved)
    {
        var s = reserved.Exhausted!;
        OnRefused?.Invoke(s);
        var resets = reserved.ResetsAt is { } r
            ? $" It resets at {r.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}."
            : " It does not reset (total budget).";
        var retry = reserved.ResetsAt is { } at ? at - time.GetUtcNow() : (TimeSpan?)null;
        return new GatewayError(GatewayErrorKind.BudgetExceeded,
            $"The {s.Kind} budget of {s.Budget.Amount.ToString(CultureInfo.InvariantCulture)} {s.Budget.Currency} ({s.Budget.Period.ToString().ToLowerInvariant()}) " +
            $"cannot cover this request: {reserved.Remaining.ToString(CultureInfo.InvariantCulture)} {s.Budget.Currency} left.{resets}")
        { Code = "budget_exceeded", RetryAfter = retry is { } t && t > TimeSpan.Zero ? t : retry is null ? null : TimeSpan.Zero };
    }

    /// <summary>Settles the hold to the cost of every metered row (failed attempts that consumed tokens, then the answer) and counts their tokens for TPM.</summary>
    /// <param name="context">Prices the rows as the ledger does (per image for images); null = by tokens.</param>
    public void Settle(BudgetAdmission admission, IEnumerable<(Deployment? Deployment, TokenUsage Usage)> rows, Pipeline.CallContext? context = null)
    {
        var tokens = 0;
        var actual = new decimal[admission.Scopes.Count];
        foreach (var (d, usage) in rows)
        {
            // An image priced per image costs with no tokens; a token-priced row without tokens costs nothing.
            var cost = context is null ? (usage.Total == 0 ? Cost.Unpriced : pricer.CostOf(d, usage)) : context.CostOf(pricer, d, usage);
            if (usage.Total == 0 && cost.Amount is not > 0) continue;
            tokens += usage.Input + usage.Output;
            for (var i = 0; i < actual.Length; i++)
            {
                actual[i] += cost.Amount is { } a && currencies.TryConvert(a, cost.Currency!, admission.Scopes[i].Budget.Currency, out var c) ? c : 0m;
            }
        }
        if (store is not null)
        {
            store.Finish(admission.Key.Id, admission.Key.TpmLimit, tokens, admission.Reservation, actual);
            return;
        }
        limiter.AddTokens(admission.Key.Id, tokens);
        if (admission.Reservation is { } reservation)
        {
            budgets.Settle(reservation, actual);
        }
    }

    /// <summary>
    /// The output tokens a hold is computed for: <c>max_completion_tokens</c>/<c>max_tokens</c>, else the model's
    /// maximum output, else <see cref="MeteringOptions.DefaultMaxOutputTokens"/>; times <c>n</c>.
    /// </summary>
    public static int AdmittedOutputTokens(ChatRequest request, ModelPrice? price, MeteringOptions options) =>
        (request.MaxTokens ?? price?.MaxOutputTokens ?? options.DefaultMaxOutputTokens) * Math.Max(1, request.N);

    /// <summary>The output tokens admitted on the deployment that answers (what a stream is held to).</summary>
    public int AdmittedOutputTokens(ChatRequest request, Deployment? deployment) =>
        AdmittedOutputTokens(request, deployment is null ? null : pricer.PriceOf(deployment), options);

    public void Release(BudgetAdmission admission)
    {
        if (admission.Reservation is { } shared && store is not null)
        {
            store.Finish(admission.Key.Id, admission.Key.TpmLimit, 0, shared, null);
            return;
        }
        if (admission.Reservation is { } reservation) budgets.Release(reservation);
    }

    /// <summary>The most this request can cost on any of its deployments, in each scope's currency.</summary>
    private (List<(BudgetScope, decimal)>? Amounts, GatewayError? Error) WorstCase(ResolvedModel model, List<BudgetScope> scopes, Func<ModelPrice, decimal> worstCase)
    {
        var worst = new decimal[scopes.Count];
        foreach (var d in model.Deployments)
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
            var amount = worstCase(price);
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
}
