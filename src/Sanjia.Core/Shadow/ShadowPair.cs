namespace Sanjia.Core.Shadow;

/// <summary>One mirrored request: what the caller got (primary) and what the candidate answered, with the grade.</summary>
public sealed record ShadowPair
{
    public required string RequestId { get; init; }
    public required string Alias { get; init; }
    public required string Candidate { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public string? PrimaryDeployment { get; init; }
    public string PrimaryText { get; init; } = "";
    public int PrimaryInputTokens { get; init; }
    public int PrimaryOutputTokens { get; init; }
    public double PrimaryLatencyMs { get; init; }
    /// <summary>Cost at the deployment's price (<see cref="Pricing.Pricer"/>); null = unpriced.</summary>
    public decimal? PrimaryCost { get; init; }
    public string? PrimaryCurrency { get; init; }
    public string? CandidateDeployment { get; init; }
    public string CandidateText { get; init; } = "";
    public int CandidateInputTokens { get; init; }
    public int CandidateOutputTokens { get; init; }
    public double CandidateLatencyMs { get; init; }
    /// <summary>The candidate call's cost, as metered; null = unpriced.</summary>
    public decimal? CandidateCost { get; init; }
    public string? CandidateCurrency { get; init; }
    /// <summary>Set when the candidate call failed (it then scores 0).</summary>
    public string? CandidateError { get; init; }
    /// <summary>Similarity of the two answers in [0, 1]; null when it could not be measured (see <see cref="ScoreError"/>).</summary>
    public double? Score { get; init; }
    public string? ScoreError { get; init; }
}

/// <summary>Where shadow pairs are kept.</summary>
public interface IShadowStore
{
    Task SaveAsync(ShadowPair pair, CancellationToken cancellationToken);

    /// <summary>The alias's pairs, oldest first, optionally from a time on.</summary>
    Task<IReadOnlyList<ShadowPair>> ReadAsync(string alias, DateTimeOffset? since, int limit, CancellationToken cancellationToken);
}

/// <summary>Counters of one alias's shadow since start-up.</summary>
public sealed class ShadowCounters
{
    internal long _enqueued, _dropped, _capped, _completed, _failed, _skippedBudget, _skippedUnpriced;
    public long Enqueued => Interlocked.Read(ref _enqueued);
    /// <summary>Copies refused because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Copies refused by the hourly cap.</summary>
    public long Capped => Interlocked.Read(ref _capped);
    /// <summary>Copies not sent because the shadow budget could not cover their worst-case cost.</summary>
    public long SkippedBudget => Interlocked.Read(ref _skippedBudget);
    /// <summary>Copies not sent because the candidate has no known price (and <c>AllowUnpriced</c> is off).</summary>
    public long SkippedUnpriced => Interlocked.Read(ref _skippedUnpriced);
    public long Completed => Interlocked.Read(ref _completed);
    /// <summary>Candidate calls that failed (still stored, scoring 0).</summary>
    public long Failed => Interlocked.Read(ref _failed);
}
