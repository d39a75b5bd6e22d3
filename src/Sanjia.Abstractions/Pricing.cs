namespace Sanjia.Abstractions;

/// <summary>
/// What one model costs on one deployment, per million tokens, in one currency. Cached input and reasoning fall back
/// to the input and output prices when a vendor does not price them separately.
/// </summary>
public sealed record ModelPrice
{
    public required string Currency { get; init; }
    public required decimal InputPerMTok { get; init; }
    public decimal? CachedInputPerMTok { get; init; }
    public required decimal OutputPerMTok { get; init; }
    public decimal? ReasoningPerMTok { get; init; }
    public int? ContextWindow { get; init; }
    public int? MaxOutputTokens { get; init; }
    /// <summary>The day the price was checked against the vendor's page (catalogue entries only).</summary>
    public DateOnly? Checked { get; init; }
    /// <summary>Where it came from: <c>catalogue</c>, <c>imported</c>, <c>config</c>, <c>local</c>.</summary>
    public string Source { get; init; } = "catalogue";
}

/// <summary>The cost of one request. <see cref="Amount"/> is null when the model has no known price (unpriced, never zero).</summary>
public readonly record struct Cost(decimal? Amount, string? Currency)
{
    public static readonly Cost Unpriced = new(null, null);
    public bool Priced => Amount is not null;
}
