using Sanjia.Abstractions;

namespace Sanjia.Core.Budgets;

/// <summary>A budget a request is charged to: the key's own or its team's.</summary>
public sealed record BudgetScope(string Kind, string Id, Budget Budget);

/// <summary>A hold on budget taken before the upstream call; settled to the real cost or released.</summary>
public sealed class BudgetReservation(IReadOnlyList<(BudgetScope Scope, object State, decimal Amount)> holds)
{
    /// <summary>One hold per scope: the tracker's own state for it (what it needs to settle) and the amount held.</summary>
    public IReadOnlyList<(BudgetScope Scope, object State, decimal Amount)> Holds { get; } = holds;
    private int _done;
    /// <summary>True the first time only: a hold is settled or released once.</summary>
    public bool TryFinish() => Interlocked.Exchange(ref _done, 1) == 0;
}

/// <summary>The answer to a reservation: a hold, or the scope that is exhausted and when it resets.</summary>
public sealed record ReserveResult(BudgetReservation? Reservation, BudgetScope? Exhausted, decimal Remaining, DateTimeOffset? ResetsAt);

/// <summary>
/// Reserve / settle / release against budgets, atomically across concurrent requests. In memory for one instance;
/// a shared store (Redis) can implement the same contract for several.
/// </summary>
public interface IBudgetTracker
{
    /// <summary>Holds <paramref name="amounts"/> (one per scope, in the scope's currency) on every scope, or on none.</summary>
    ValueTask<ReserveResult> TryReserveAsync(IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts, CancellationToken cancellationToken);

    /// <summary>Replaces the hold by the actual cost (one per scope, same order as reserved).</summary>
    void Settle(BudgetReservation reservation, IReadOnlyList<decimal> actual);

    void Release(BudgetReservation reservation);

    /// <summary>Spent (settled) and reserved amounts for a scope in its current window.</summary>
    ValueTask<(decimal Spent, decimal Reserved, DateTimeOffset? ResetsAt)> StatusAsync(BudgetScope scope, CancellationToken cancellationToken);
}
