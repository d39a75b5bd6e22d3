namespace Sanjia.Evaluation.Running;

/// <summary>What one grader said about one answer.</summary>
public sealed record GraderOutcome(string Grader, double Score, bool Passed, string? Reason, bool GraderFailed);

/// <summary>
/// The result of one (case, model, sample) cell: the call's measurements, each grader's verdict and the weighted case
/// score in [0, 1]. A failed call scores 0 and has no grades; it counts in the error rate.
/// </summary>
public sealed record CellResult
{
    public required string CaseId { get; init; }
    public required string Model { get; init; }

    /// <summary>Which repetition of the case (0 to <c>--samples</c> − 1).</summary>
    public int Sample { get; init; }
    public double Score { get; init; }
    public IReadOnlyList<GraderOutcome> Grades { get; init; } = [];

    /// <summary>The answer, cut to <see cref="MaxStoredOutput"/> characters (for reading reports, not for grading).</summary>
    public string Output { get; init; } = "";
    public int InputTokens { get; init; }
    public int OutputTokens { get; init; }
    public double LatencyMs { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    public decimal? Cost { get; init; }
    public string? Currency { get; init; }
    public string? Deployment { get; init; }
    public int? ErrorStatus { get; init; }

    /// <summary>The gateway's error code, e.g. <c>budget_exceeded</c>.</summary>
    public string? ErrorCode { get; init; }
    public string? Error { get; init; }

    /// <summary>Upstream attempts the gateway made for this call (its <c>x-sanjia-attempts</c>; retries and fallbacks included).</summary>
    public int Attempts { get; init; } = 1;
    public DateTimeOffset CompletedAt { get; init; }

    public bool Failed => Error is not null;

    /// <summary>The call succeeded and every grader passed (the unit of pass@k).</summary>
    public bool Passed => !Failed && Grades.Count > 0 && Grades.All(g => g.Passed);

    /// <summary>
    /// The gateway refused the call for a reason that says nothing about the model (the key's budget is spent, the
    /// model does not exist): the model was not measured on this case, so its numbers cannot be compared.
    /// </summary>
    public bool NotMeasured => ErrorCode is "budget_exceeded" or "model_not_found" or "cost_cap";

    /// <summary>A grader could not decide (judge down, judge model missing): the score is not the model's.</summary>
    public bool GraderFailed => Grades.Any(g => g.GraderFailed);

    public const int MaxStoredOutput = 4000;
}

/// <summary>A comparison run as stored: its id, the suite it ran (name + fingerprint), models and state.</summary>
public sealed record RunRecord(string RunId, string SuiteName, string SuiteFingerprint, IReadOnlyList<string> Models, string Status, DateTimeOffset CreatedAt)
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Interrupted = "interrupted";
    public const string Failed = "failed";
}
