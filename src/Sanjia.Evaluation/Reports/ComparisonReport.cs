namespace Sanjia.Evaluation.Reports;

/// <summary>Per-model numbers. Quality is on a 0–100 scale (mean case score × 100; failed calls score 0).</summary>
public sealed record ModelSummary
{
    public required string Model { get; init; }
    public int Cases { get; init; }
    public double Quality { get; init; }
    public Interval QualityInterval { get; init; }

    /// <summary>Grader label → share of graded cells it passed (failed calls count as not passed).</summary>
    public IReadOnlyDictionary<string, double> PassRateByGrader { get; init; } = new Dictionary<string, double>();

    /// <summary>Sum of the priced calls' cost; null when no call was priced.</summary>
    public decimal? TotalCost { get; init; }
    public decimal? CostPer1000Requests { get; init; }
    public string? Currency { get; init; }

    /// <summary>Calls with a cost from the gateway; fewer than <see cref="Cases"/> means the cost is partial.</summary>
    public int PricedCalls { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public double LatencyP50Ms { get; init; }
    public double LatencyP95Ms { get; init; }
    public double TtftP50Ms { get; init; }
    public double TtftP95Ms { get; init; }
    public double ErrorRate { get; init; }
    public bool OnParetoFront { get; init; }
}

public enum Verdict
{
    NoSignificantDifference,
    SignificantlyBetter,
    SignificantlyWorse,
}

/// <summary>A candidate against the baseline on the same cases; quality difference in points (candidate − baseline).</summary>
public sealed record PairwiseComparison
{
    public required string Candidate { get; init; }
    public required string Baseline { get; init; }
    public int Pairs { get; init; }
    public double QualityDifference { get; init; }
    public Interval DifferenceInterval { get; init; }
    public double PValue { get; init; }
    public Verdict Verdict { get; init; }

    /// <summary>Relative cost per request in percent (−71 = 71 % cheaper); null when either side is unpriced.</summary>
    public double? CostChangePercent { get; init; }
    public required string Summary { get; init; }
}

public enum RecommendedAction
{
    Keep,
    Switch,
    Consider,
}

public sealed record Recommendation(RecommendedAction Action, string Model, string Text);

/// <summary>Everything a report shows, in one serialisable value (the JSON output is exactly this).</summary>
public sealed record ComparisonReport
{
    public required string RunId { get; init; }
    public required string Suite { get; init; }
    public required string Baseline { get; init; }
    public int Cases { get; init; }
    public int Seed { get; init; }
    public double ConfidenceLevel { get; init; } = 0.95;
    public DateTimeOffset GeneratedAt { get; init; }
    public IReadOnlyList<ModelSummary> Models { get; init; } = [];
    public IReadOnlyList<PairwiseComparison> Comparisons { get; init; } = [];
    public IReadOnlyList<string> ParetoFront { get; init; } = [];
    public required Recommendation Recommendation { get; init; }

    /// <summary>Cells of the run not stored yet (an interrupted run); the numbers cover stored cells only.</summary>
    public int MissingCells { get; init; }
}
