using System.Text.Json.Nodes;
using Sanjia.Core.Shadow;
using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Api.Shadow;

/// <summary>
/// Shadow pairs as a comparison run with the primary as baseline: each mirrored request is a case; the primary's
/// answer is the reference (score 1), the candidate scores the similarity of its answer to it. Pairs whose similarity
/// could not be measured are left out (and counted by the summary).
/// </summary>
public static class ShadowReport
{
    public const string Grader = "similarity";

    public static ComparisonReport Build(string alias, string candidate, double threshold, IReadOnlyList<ShadowPair> pairs, TimeProvider time)
    {
        var scored = pairs.Where(p => p.Score is not null).ToList();
        var primaryName = alias;
        var candidateName = string.Equals(candidate, alias, StringComparison.OrdinalIgnoreCase) ? candidate + " (candidate)" : candidate;
        var cases = scored.Select(p => new EvalCase(p.RequestId, [], null, [])).ToList();
        var suite = new EvalSuite($"shadow:{alias}", cases, new JsonObject());
        var results = new List<CellResult>();
        foreach (var p in scored)
        {
            results.Add(new CellResult
            {
                CaseId = p.RequestId,
                Model = primaryName,
                Score = 1,
                Grades = [new GraderOutcome(Grader, 1, true, "reference", false)],
                Output = Cut(p.PrimaryText),
                InputTokens = p.PrimaryInputTokens,
                OutputTokens = p.PrimaryOutputTokens,
                LatencyMs = p.PrimaryLatencyMs,
                Deployment = p.PrimaryDeployment,
                Cost = p.PrimaryCost,
                Currency = p.PrimaryCurrency,
                CompletedAt = p.Timestamp,
            });
            results.Add(new CellResult
            {
                CaseId = p.RequestId,
                Model = candidateName,
                Score = p.CandidateError is null ? p.Score!.Value : 0,
                Grades = p.CandidateError is null ? [new GraderOutcome(Grader, p.Score!.Value, p.Score.Value >= threshold, null, false)] : [],
                Output = Cut(p.CandidateText),
                InputTokens = p.CandidateInputTokens,
                OutputTokens = p.CandidateOutputTokens,
                LatencyMs = p.CandidateLatencyMs,
                Deployment = p.CandidateDeployment,
                Cost = p.CandidateCost,
                Currency = p.CandidateCurrency,
                Error = p.CandidateError,
                ErrorStatus = p.CandidateError is null ? null : 502,
                CompletedAt = p.Timestamp,
            });
        }
        return ReportBuilder.Build($"shadow-{alias}", suite, [primaryName, candidateName], primaryName, results, time: time);
    }

    private static string Cut(string s) => s.Length > CellResult.MaxStoredOutput ? s[..CellResult.MaxStoredOutput] : s;
}
