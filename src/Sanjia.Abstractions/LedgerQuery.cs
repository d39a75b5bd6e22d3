namespace Sanjia.Abstractions;

/// <summary>
/// Which ledger rows to list (<c>GET /admin/requests</c>): every filter is optional and they all apply. Rows come
/// newest first (by the store's row id, the order written); <see cref="Before"/> is the cursor of the next page, the
/// id of the last row of the previous one.
/// </summary>
public sealed record LedgerFilter
{
    public string? KeyId { get; init; }
    public string? TeamId { get; init; }
    /// <summary>The model id the caller sent (an alias or <c>provider/model</c>), compared exactly.</summary>
    public string? Model { get; init; }
    public string? Provider { get; init; }
    public string? Deployment { get; init; }
    /// <summary>Inclusive status range: 200..200 for one status, 400..599 for every error.</summary>
    public int? StatusFrom { get; init; }
    public int? StatusTo { get; init; }
    /// <summary>
    /// Rows where a guardrail rule with this id matched (<c>pii.email</c>), or <c>any</c> for every row with a guardrail
    /// decision (<see cref="LedgerEntry.Guardrails"/>).
    /// </summary>
    public string? Guardrail { get; init; }
    /// <summary>Only evaluation traffic (true) or only the rest (false); null = both (<see cref="LedgerEntry.Evaluation"/>).</summary>
    public bool? Evaluation { get; init; }
    /// <summary>Rows at or after this time.</summary>
    public DateTimeOffset? From { get; init; }
    /// <summary>Rows before this time (exclusive).</summary>
    public DateTimeOffset? To { get; init; }
    /// <summary>Rows written before the row with this id (the cursor); null = from the newest.</summary>
    public long? Before { get; init; }
    public int Limit { get; init; } = 50;
}

/// <summary>A ledger row and its id in the store (the cursor of <see cref="LedgerFilter.Before"/>).</summary>
public sealed record LedgerRow(long Id, LedgerEntry Entry);

/// <summary>Filtered, paged reads of the ledger for people (the request log); implemented by every ledger store.</summary>
public interface ILedgerQuery
{
    /// <summary>Up to <see cref="LedgerFilter.Limit"/> matching rows, newest first.</summary>
    Task<IReadOnlyList<LedgerRow>> QueryAsync(LedgerFilter filter, CancellationToken cancellationToken);
}
