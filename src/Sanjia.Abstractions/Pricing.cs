namespace Sanjia.Abstractions;

/// <summary>
/// What one model costs on one deployment, per million tokens, in one currency. Cached input and reasoning fall back
/// to the input and output prices when a vendor does not price them separately. <see cref="ThinkingOutputPerMTok"/>
/// is the output price of vendors (Qwen, Hunyuan ...) that charge all output of a thinking-mode answer at a higher
/// rate. <see cref="Tiers"/> are the "cliff" prices of vendors that price by the request's input length: once the
/// input tokens exceed a tier's threshold, every token of the request is charged at that tier's rates.
/// </summary>
public sealed record ModelPrice
{
    public required string Currency { get; init; }
    public required decimal InputPerMTok { get; init; }
    public decimal? CachedInputPerMTok { get; init; }
    /// <summary>
    /// Input tokens written to the vendor's prompt cache (<see cref="TokenUsage.CacheWrite"/>: Anthropic's and
    /// MiniMax's <c>cache_creation_input_tokens</c>), dearer than plain input; null = the input price.
    /// </summary>
    public decimal? CacheWritePerMTok { get; init; }
    public required decimal OutputPerMTok { get; init; }
    public decimal? ReasoningPerMTok { get; init; }
    public decimal? ThinkingOutputPerMTok { get; init; }
    /// <summary>Cheaper rates outside the vendor's peak hours (DeepSeek); the base rates are the peak ones.</summary>
    public OffPeakPrice? OffPeak { get; init; }
    /// <summary>Input-length tiers in ascending threshold order (null or empty = one flat price).</summary>
    public IReadOnlyList<PriceTier>? Tiers { get; init; }
    public int? ContextWindow { get; init; }
    public int? MaxOutputTokens { get; init; }
    /// <summary>Image prices (per image, or tokens per image for the hold); null for models that make no images.</summary>
    public ImagePrice? Images { get; init; }
    /// <summary>The day the price was checked against the vendor's page (catalogue entries only).</summary>
    public DateOnly? Checked { get; init; }
    /// <summary>False when the figures rest on third parties only (catalogue entries marked <c>"verified": false</c>).</summary>
    public bool Verified { get; init; } = true;
    /// <summary>The day the vendor retires (or retired) the model; retired models stay priced for older ledger rows.</summary>
    public DateOnly? Retired { get; init; }
    /// <summary>Where it came from: <c>catalogue</c>, <c>imported</c>, <c>config</c>, <c>local</c>.</summary>
    public string Source { get; init; } = "catalogue";

    /// <summary>The price at a moment: the off-peak rates outside the peak hours, otherwise this price.</summary>
    public ModelPrice At(DateTimeOffset at) => OffPeak is not { } off || off.IsPeak(at) ? this : this with
    {
        InputPerMTok = off.InputPerMTok,
        CachedInputPerMTok = off.CachedInputPerMTok ?? CachedInputPerMTok,
        OutputPerMTok = off.OutputPerMTok,
        OffPeak = null,
    };

    /// <summary>The flat price for a request with this many input tokens whatever its output length (dearest output band).</summary>
    public ModelPrice ForInput(long inputTokens) => ForUsage(inputTokens, long.MaxValue);

    /// <summary>
    /// The flat price that applies to a request of this size (this price when no tier applies): of the tiers whose
    /// conditions hold, the one with the highest input threshold, and at equal thresholds the one with an output band.
    /// </summary>
    public ModelPrice ForUsage(long inputTokens, long outputTokens)
    {
        if (Tiers is not { Count: > 0 } tiers)
        {
            return this;
        }
        PriceTier? crossed = null;
        foreach (var tier in tiers)
        {
            if (inputTokens > tier.AboveInputTokens && (tier.BelowOutputTokens is not { } below || outputTokens < below)
                && (crossed is null || tier.AboveInputTokens > crossed.AboveInputTokens
                    || (tier.AboveInputTokens == crossed.AboveInputTokens && tier.BelowOutputTokens is not null)))
            {
                crossed = tier;
            }
        }
        return crossed is null ? this with { Tiers = null } : this with
        {
            InputPerMTok = crossed.InputPerMTok,
            CachedInputPerMTok = crossed.CachedInputPerMTok ?? CachedInputPerMTok,
            CacheWritePerMTok = crossed.CacheWritePerMTok ?? CacheWritePerMTok,
            OutputPerMTok = crossed.OutputPerMTok,
            ReasoningPerMTok = crossed.ReasoningPerMTok ?? ReasoningPerMTok,
            ThinkingOutputPerMTok = crossed.ThinkingOutputPerMTok ?? ThinkingOutputPerMTok,
            Tiers = null,
        };
    }
}

/// <summary>
/// Time-of-day pricing: the base rates apply on <see cref="PeakDays"/> within <see cref="PeakHoursUtc"/>, these
/// rates at every other time (days and hours in UTC, as the vendor's page gives them converted).
/// </summary>
public sealed record OffPeakPrice
{
    public required decimal InputPerMTok { get; init; }
    public decimal? CachedInputPerMTok { get; init; }
    public required decimal OutputPerMTok { get; init; }
    public required IReadOnlyList<DayOfWeek> PeakDays { get; init; }
    /// <summary>Half-open windows [From, To) in UTC time of day.</summary>
    public required IReadOnlyList<(TimeSpan From, TimeSpan To)> PeakHoursUtc { get; init; }

    public bool IsPeak(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        if (!PeakDays.Contains(utc.DayOfWeek)) return false;
        foreach (var (from, to) in PeakHoursUtc)
        {
            if (utc.TimeOfDay >= from && utc.TimeOfDay < to) return true;
        }
        return false;
    }
}

/// <summary>
/// The rates of a request whose input tokens exceed <see cref="AboveInputTokens"/> (and, for an output band such as
/// Zhipu's, whose output tokens are below <see cref="BelowOutputTokens"/>); unset optional rates keep the base ones.
/// </summary>
public sealed record PriceTier
{
    public required long AboveInputTokens { get; init; }
    public long? BelowOutputTokens { get; init; }
    public required decimal InputPerMTok { get; init; }
    public decimal? CachedInputPerMTok { get; init; }
    public decimal? CacheWritePerMTok { get; init; }
    public required decimal OutputPerMTok { get; init; }
    public decimal? ReasoningPerMTok { get; init; }
    public decimal? ThinkingOutputPerMTok { get; init; }
}

/// <summary>The cost of one request. <see cref="Amount"/> is null when the model has no known price (unpriced, never zero).</summary>
public readonly record struct Cost(decimal? Amount, string? Currency)
{
    public static readonly Cost Unpriced = new(null, null);
    public bool Priced => Amount is not null;
}
