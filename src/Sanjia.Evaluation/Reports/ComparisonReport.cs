using Sanjia.Evaluation.Running;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// Per-model numbers. Quality is on a 0–100 scale: the mean over cases of the case's mean score over its samples,
/// × 100 (failed calls score 0).
/// </summary>
public sealed record ModelSummary
{
    public required string Model { get; init; }

    /// <summary>Cases with at least one stored cell.</summary>
    public int Cases { get; init; }

    /// <summary>Stored cells (cases × samples).</summary>
    public int Calls { get; init; }
    public double Quality { get; init; }
    public Interval QualityInterval { get; init; }

    /// <summary>With repeated samples: the square root of the mean within-case variance of the score, in points; null with one sample.</summary>
    public double? SampleStdDev { get; init; }

    /// <summary>k → the unbiased pass@k estimate (a sample passes when every grader passed), averaged over cases; k = 1 and k = samples.</summary>
    public IReadOnlyDictionary<int, double> PassAtK { get; init; } = new Dictionary<int, double>();

    /// <summary>Grader label → share of the cells it graded that it passed. Failed calls were not graded and do not count; neither do cells where the grader itself failed.</summary>
    public IReadOnlyDictionary<string, double> PassRateByGrader { get; init; } = new Dictionary<string, double>();

    /// <summary>Grader label → cells where that grader could not decide (judge missing or down); their score is not the model's.</summary>
    public IReadOnlyDictionary<string, int> GraderFailures { get; init; } = new Dictionary<string, int>();

    /// <summary>Cells the gateway refused for reasons outside the model (budget spent, model not found, the run's cost cap).</summary>
    public int NotMeasured { get; init; }

    /// <summary>Why this model's numbers are not a measurement of it (not-measured cells, failed graders); null when they are.</summary>
    public string? Problem { get; init; }

    /// <summary>Sum of the priced calls' cost; null when no call was priced.</summary>
    public decimal? TotalCost { get; init; }
    public decimal? CostPer1000Requests { get; init; }
    public string? Currency { get; init; }

    /// <summary>Calls with a cost from the gateway; fewer than <see cref="Calls"/> means the cost is partial.</summary>
    public int PricedCalls { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public double LatencyP50Ms { get; init; }
    public double LatencyP95Ms { get; init; }
    public double TtftP50Ms { get; init; }
    public double TtftP95Ms { get; init; }
    /// <summary>Share of measured cells whose call failed, after the gateway's retries and fallbacks (per case).</summary>
    public double ErrorRate { get; init; }

    /// <summary>Share of upstream attempts that failed (per call: the gateway's <c>x-sanjia-attempts</c>, retries included).</summary>
    public double CallErrorRate { get; init; }
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

    /// <summary>The sign-flip test's p-value for this pair alone.</summary>
    public double PValue { get; init; }

    /// <summary>Holm-adjusted across every candidate of the report; the verdict uses this one.</summary>
    public double AdjustedPValue { get; init; }
    public Verdict Verdict { get; init; }

    /// <summary>The lower bound of the two-sided 95 % interval is above −margin: the candidate loses less than the margin.</summary>
    public bool NonInferior { get; init; }

    /// <summary>Cases needed to show non-inferiority at the margin (α = 0.05, 80 % power); more than <see cref="Pairs"/> means too few.</summary>
    public int CasesNeeded { get; init; }

    /// <summary>Relative cost per request in percent (−71 = 71 % cheaper); null when either side is unpriced.</summary>
    public double? CostChangePercent { get; init; }
    public required string Summary { get; init; }
}

public enum RecommendedAction
{
    Keep,
    Switch,
    Consider,

    /// <summary>Too few cases (or models not measured) to recommend anything; the text says how many are needed.</summary>
    Inconclusive,
}

public sealed record Recommendation(RecommendedAction Action, string Model, string Text);

/// <summary>Everything a report shows, in one serialisable value (the JSON output is exactly this).</summary>
public sealed record ComparisonReport
{
    public required string RunId { get; init; }
    public required string Suite { get; init; }
    public required string Baseline { get; init; }
    public int Cases { get; init; }

    /// <summary>Calls per case and model (<c>--samples</c>).</summary>
    public int Samples { get; init; } = 1;
    public int Seed { get; init; }
    public double ConfidenceLevel { get; init; } = 0.95;

    /// <summary>Non-inferiority margin in quality points: "switch" needs the difference's lower bound above −margin.</summary>
    public double Margin { get; init; } = ReportBuilder.DefaultMargin;

    /// <summary>The HTML chart opens with a log-scale cost axis (it can switch either way).</summary>
    public bool LogCostAxis { get; init; }

    /// <summary>What a reader must know before trusting the numbers (grader failures, not-measured cells, too few cases, a cost cap reached).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public DateTimeOffset GeneratedAt { get; init; }
    public IReadOnlyList<ModelSummary> Models { get; init; } = [];
    public IReadOnlyList<PairwiseComparison> Comparisons { get; init; } = [];
    public IReadOnlyList<string> ParetoFront { get; init; } = [];
    public required Recommendation Recommendation { get; init; }

    /// <summary>Cells of the run not stored yet (an interrupted run); the numbers cover stored cells only.</summary>
    public int MissingCells { get; init; }

    /// <summary>The drill-down: every case with each model's answers, grades and errors, in suite order.</summary>
    public IReadOnlyList<CaseRow> CaseRows { get; init; } = [];
}

/// <summary>One case of the drill-down: what was asked, what was expected, and each model's cells.</summary>
public sealed record CaseRow(string Id, string Prompt, string? Expected, IReadOnlyList<CaseCell> Cells);

/// <summary>One model's answer to a case (one per sample): score 0–100, the answer (cut), each grader's verdict, or the error.</summary>
public sealed record CaseCell(string Model, int Sample, double Score, bool Passed, string Output, string? Error, IReadOnlyList<GraderOutcome> Grades);
