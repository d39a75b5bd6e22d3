using Sanjia.Abstractions;

namespace Sanjia.Core.Budgets;

/// <summary>
/// The rate limits that applied to a request, for OpenAI's <c>x-ratelimit-*</c> headers: limit, what is left and the
/// time until the limit is back to its initial state, for requests and for tokens (null when the key has no such limit).
/// </summary>
public readonly record struct RateLimitStatus(
    int? RequestLimit, long RemainingRequests, TimeSpan ResetRequests,
    int? TokenLimit, long RemainingTokens, TimeSpan ResetTokens);

/// <summary>
/// What <see cref="IAdmissionStore.AdmitAsync"/> decided: admitted (with the hold when budgets were asked for), or
/// refused by a rate limit (<see cref="Limit"/> = <c>rpm</c>/<c>tpm</c>), by a budget (<see cref="Budget"/> without a
/// reservation), or because the store cannot answer (<see cref="Error"/>).
/// </summary>
public readonly record struct AdmissionResult(
    bool Admitted, BudgetReservation? Reservation, string? Limit, TimeSpan RetryAfter, ReserveResult? Budget,
    RateLimitStatus? Limits, GatewayError? Error);

/// <summary>
/// A store that checks a key's RPM/TPM and takes its budget holds in one step: the shape a shared store needs (Redis:
/// one script, one round trip before the upstream call). Without one, <see cref="BudgetPolicy"/> uses the in-memory
/// <see cref="IRateLimiter"/> and <see cref="IBudgetTracker"/> of the instance, unchanged.
/// </summary>
public interface IAdmissionStore
{
    /// <summary>Counts the request against <paramref name="rpm"/>, checks <paramref name="tpm"/>, then holds every amount, all or nothing.</summary>
    ValueTask<AdmissionResult> AdmitAsync(string keyId, int? rpm, int? tpm, IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts, CancellationToken cancellationToken);

    /// <summary>
    /// After the call, off the request path: adds <paramref name="tokens"/> to the key's TPM and replaces the hold by
    /// <paramref name="actual"/> (one per scope; null releases it). Never blocks the caller.
    /// </summary>
    void Finish(string keyId, int? tpm, int tokens, BudgetReservation? reservation, IReadOnlyList<decimal>? actual);
}

/// <summary>
/// A budget outside keys and teams (a shadow's), in a shared store: its name, currency and limit, the window it is
/// counted in, and how to read that window's spend from the ledger when the store does not have it.
/// </summary>
public sealed record SharedBudget(string Name, string Currency, decimal Limit, DateTimeOffset Start, DateTimeOffset? End,
    Func<CancellationToken, Task<decimal>> LoadSpent);

/// <summary>Holds on <see cref="SharedBudget"/>s that every instance shares (Redis), for budgets that are not a key's.</summary>
public interface ISharedBudgets
{
    /// <summary>A hold of <paramref name="amount"/>, or null when it does not fit or the store cannot answer (<paramref name="budget"/> stays closed then).</summary>
    ValueTask<BudgetReservation?> TryHoldAsync(SharedBudget budget, decimal amount, CancellationToken cancellationToken);

    /// <summary>Replaces the hold by <paramref name="actual"/> (null releases it), off the caller's path.</summary>
    void Finish(BudgetReservation hold, decimal? actual);

    /// <summary>Spent and held in the budget's window (from the ledger when the store does not have it).</summary>
    ValueTask<(decimal Spent, decimal Reserved)> StatusAsync(SharedBudget budget, CancellationToken cancellationToken);
}
