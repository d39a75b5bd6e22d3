namespace Sanjia.Abstractions;

/// <summary>One metered request (or one attempt of it): what a bill and a spend report are built from.</summary>
public sealed record LedgerEntry
{
    public required string RequestId { get; init; }
    public int Attempt { get; init; } = 1;
    public required DateTimeOffset Timestamp { get; init; }
    public string? KeyId { get; init; }
    public string? TeamId { get; init; }
    public required string Endpoint { get; init; }
    public required string Model { get; init; }
    public string? Deployment { get; init; }
    public string? Provider { get; init; }
    public TokenUsage Usage { get; init; }
    public required int Status { get; init; }
    public string? ErrorCode { get; init; }
    public double LatencyMs { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    public bool Stream { get; init; }
    /// <summary>Cost at the deployment's price; null = unpriced (no known price), never shown as zero.</summary>
    public decimal? Cost { get; init; }
    public string? Currency { get; init; }
    public bool Priced => Cost is not null;

    /// <summary>
    /// The request id of the ledger row whose answer the response cache served (docs/caching.md); null when the
    /// answer came from upstream. A hit's <see cref="Cost"/> is zero and <see cref="CostSaved"/> what the original cost.
    /// </summary>
    public string? CacheOf { get; init; }

    /// <summary>What a cache hit saved: the original answer's cost, in <see cref="Currency"/>; null for other rows.</summary>
    public decimal? CostSaved { get; init; }
}

/// <summary>Durable storage for ledger entries; writes arrive batched.</summary>
public interface ILedgerStore
{
    Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken);
    Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);
}

/// <summary>The request path's side of metering: never blocks, never loses an accepted entry before shutdown.</summary>
public interface ILedger
{
    void Record(LedgerEntry entry);

    /// <summary>
    /// Notes a stream in flight (when it begins, then its progress): the entry, with <see cref="LedgerEntry.Status"/> 0,
    /// stands in for the stream's row should the process die before that row is recorded; recording the row with the
    /// same request id, attempt and endpoint replaces it. Default: nothing (the row is recorded at the end only).
    /// </summary>
    void RecordInFlight(LedgerEntry entry)
    {
    }

    /// <summary>Records and completes once the entry is durable (survives the process being killed).</summary>
    ValueTask RecordDurableAsync(LedgerEntry entry)
    {
        Record(entry);
        return ValueTask.CompletedTask;
    }
}
