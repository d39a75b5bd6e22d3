using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Graders;

/// <summary>The answer to grade, with its case and a way to call models (for embedding and judge graders).</summary>
public sealed record GradeContext(EvalCase Case, string Output, IModelRunner Runner);

/// <summary>
/// A score in [0, 1] and a pass/fail verdict. <see cref="GraderFailed"/> marks that the grader itself could not
/// decide (e.g. the judge model was down); the score is then 0 and the reason says why.
/// </summary>
public readonly record struct Grade(double Score, bool Passed, string? Reason = null, bool GraderFailed = false)
{
    public static Grade Pass(string? reason = null) => new(1, true, reason);

    public static Grade Fail(string? reason = null) => new(0, false, reason);

    public static Grade Broken(string reason) => new(0, false, reason, GraderFailed: true);
}

/// <summary>
/// Grades one answer. Implement it for custom checks and register a factory under a type name with
/// <see cref="GraderRegistry.Register"/>; suites then use it like a built-in (<c>- type: my-check</c>).
/// Instances are made per case, so settings and the expected value can be checked once, up front.
/// </summary>
public interface IGrader
{
    ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken);
}

/// <summary>A grader that calls models through the gateway (judge, embedding): they are validated before a run.</summary>
public interface ICallsModels
{
    IEnumerable<string> Models { get; }
}
