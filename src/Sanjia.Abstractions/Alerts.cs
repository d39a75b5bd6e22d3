namespace Sanjia.Abstractions;

/// <summary>
/// A budget alert: a key's or team's spend crossed one of its thresholds in a budget period. One per (scope, id,
/// threshold, period start, budget amount): <see cref="Id"/> is derived from those, so every instance names the same
/// crossing alike, and a budget changed in its period is watched afresh.
/// </summary>
public sealed record BudgetAlert
{
    public required string Id { get; init; }
    public required DateTimeOffset FiredAt { get; init; }
    /// <summary><c>key</c> or <c>team</c>.</summary>
    public required string Scope { get; init; }
    public required string ScopeId { get; init; }
    /// <summary>The threshold crossed, in percent of the budget.</summary>
    public required int Percent { get; init; }
    /// <summary>Spent (settled) in the period when the crossing was seen.</summary>
    public required decimal Used { get; init; }
    public required decimal Limit { get; init; }
    public required string Currency { get; init; }
    public required BudgetPeriod Period { get; init; }
    public required DateTimeOffset PeriodStart { get; init; }
    public DateTimeOffset? ResetsAt { get; init; }
    /// <summary>
    /// <c>spent</c> (spend reached the threshold) or <c>refused</c> (a request was refused for this budget: its last
    /// hold did not fit, so spend may stay just under 100 %).
    /// </summary>
    public string Reason { get; init; } = "spent";
    /// <summary>
    /// The webhooks' outcome: <c>pending</c>, <c>delivered</c>, <c>failed</c> (after every attempt),
    /// <c>none</c> (no webhook configured) or <c>superseded</c> (a higher threshold crossed at the same time was sent instead).
    /// </summary>
    public string Delivery { get; init; } = "pending";
    public int Attempts { get; init; }
    public string? LastError { get; init; }
}

/// <summary>
/// Fired budget alerts, shared by every instance on one store (SQLite, PostgreSQL): claiming a crossing is how an
/// alert is sent once, by one instance, and not again after a restart.
/// </summary>
public interface IAlertStore
{
    /// <summary>Records the alert unless its <see cref="BudgetAlert.Id"/> is already recorded; true when this call recorded it.</summary>
    Task<bool> TryClaimAsync(BudgetAlert alert, CancellationToken cancellationToken);

    /// <summary>Records how the alert's delivery ended (or stands).</summary>
    Task RecordDeliveryAsync(string id, string delivery, int attempts, string? lastError, CancellationToken cancellationToken);

    /// <summary>The newest alerts first (of one check: the highest threshold first), optionally of one key or team only.</summary>
    Task<IReadOnlyList<BudgetAlert>> ListAsync(string? scopeId, int limit, CancellationToken cancellationToken);
}
