namespace Sanjia.Evaluation.Running;

/// <summary>What one grader said about one answer.</summary>
public sealed record GraderOutcome(string Grader, double Score, bool Passed, string? Reason, bool GraderFailed);

/// <summary>
/// The result of one (case, model) cell: the call's measurements, each grader's verdict and the weighted case score
/// in [0, 1]. A failed call scores 0 and has no grades; it counts in the error rate.
/// </summary>
public sealed record CellResult
{
    public required string CaseId { get; init; }
    public required string Model { get; init; }
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
    public string? Error { get; init; }
    public DateTimeOffset CompletedAt { get; init; }

    public bool Failed => Error is not null;

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
