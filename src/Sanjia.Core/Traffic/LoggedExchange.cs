namespace Sanjia.Core.Traffic;

/// <summary>One logged exchange (only with <c>Sanjia:Logging:Bodies</c>): the caller's request body and the answer's text.</summary>
public sealed record LoggedExchange
{
    public required string RequestId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>The model id the caller sent (alias or <c>provider/model</c>).</summary>
    public required string Model { get; init; }
    public string? KeyId { get; init; }
    public string? Deployment { get; init; }
    public required string Endpoint { get; init; }
    public required string RequestBody { get; init; }
    public required string ResponseText { get; init; }
    public int InputTokens { get; init; }
    public int OutputTokens { get; init; }
    public double LatencyMs { get; init; }
    /// <summary>The answer's cost at the deployment's price (<see cref="Pricing.Pricer"/>); null = unpriced.</summary>
    public decimal? Cost { get; init; }
    public string? Currency { get; init; }
}

/// <summary>What to read back from the body log; every filter is optional. <c>Until</c> is exclusive.</summary>
public sealed record BodyLogQuery(string? Model, string? KeyId, DateTimeOffset? Since, DateTimeOffset? Until, int Limit = 100_000);

/// <summary>Where logged bodies are kept: written in batches, read by filters for replay.</summary>
public interface IBodyLogStore
{
    Task WriteAsync(IReadOnlyList<LoggedExchange> batch, CancellationToken cancellationToken);

    /// <summary>Matching exchanges, oldest first.</summary>
    Task<IReadOnlyList<LoggedExchange>> ReadAsync(BodyLogQuery query, CancellationToken cancellationToken);
}
