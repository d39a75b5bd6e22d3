using System.Globalization;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// Plain-language sentences. The rule: switch to the cheapest candidate that is non-inferior at the margin (the lower
/// bound of the two-sided 95 % interval of the quality difference is above −margin), was run on at least the cases
/// that non-inferiority needs (α = 0.05, 80 % power), does not fail noticeably more often, and was measured on every
/// case (no budget refusal, no failed grader). When a cheaper candidate could be non-inferior but the cases are too
/// few, say so and how many are needed instead of recommending. Otherwise point at a significantly better one
/// (Holm-adjusted p &lt; 0.05 and an interval that excludes zero); otherwise keep the baseline.
/// </summary>
public static class Recommender
{
    /// <summary>A candidate failing this much more often (absolute) than the baseline is not recommended.</summary>
    public const double ErrorRateMargin = 0.05;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Describe(PairwiseComparison c, ModelSummary candidate, ModelSummary baseline, double margin = ReportBuilder.DefaultMargin)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(baseline);
        var cost = c.CostChangePercent switch
        {
            null => $"{c.Candidate} has no known cost (the gateway reported none)" + (candidate.CostPer1000Requests is null ? "" : $" next to {c.Baseline}"),
            var p when Math.Abs(p.Value) < 0.5 => $"{c.Candidate} costs about the same as {c.Baseline}",
            var p when p < 0 => $"{c.Candidate} costs {Percent(-p.Value)} less than {c.Baseline}",
            var p => $"{c.Candidate} costs {Percent(p.Value)} more than {c.Baseline}",
        };
        var quality = $"quality {Signed(c.QualityDifference)} points (95 % CI {Signed(c.DifferenceInterval.Low)} to {Signed(c.DifferenceInterval.High)})";
        var verdict = c.Verdict switch
        {
            Verdict.SignificantlyBetter => $"significantly better ({P(c.AdjustedPValue)})",
            Verdict.SignificantlyWorse => $"significantly worse ({P(c.AdjustedPValue)})",
            _ => $"no significant difference ({P(c.AdjustedPValue)})",
        };
        var inferiority = c.NonInferior
            ? $"loses less than the {ReportBuilder.Points(margin)}-point margin"
            : c.DifferenceInterval.High < -margin
                ? $"loses more than the {ReportBuilder.Points(margin)}-point margin"
                : $"a loss above the {ReportBuilder.Points(margin)}-point margin is not ruled out";
        var few = c.Pairs < c.CasesNeeded ? $", {c.Pairs} cases of the {Count(c.CasesNeeded)} needed" : "";
        var errors = candidate.ErrorRate > baseline.ErrorRate + 1e-9
            ? $"; errors {Percent(candidate.ErrorRate * 100)} vs {Percent(baseline.ErrorRate * 100)}"
            : "";
        return $"{cost}; {quality}: {verdict}, {inferiority}{few}{errors}.";
    }

    public static Recommendation Recommend(ModelSummary baseline, IReadOnlyList<ModelSummary> models, IReadOnlyList<PairwiseComparison> comparisons, double margin = ReportBuilder.DefaultMargin)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ModelSummary Of(string m) => models.Single(s => s.Model == m);
        if (comparisons.Count == 0) return new Recommendation(RecommendedAction.Keep, baseline.Model, $"Keep {baseline.Model}: no candidate was compared.");
        if (baseline.Problem is not null)
        {
            return new Recommendation(RecommendedAction.Inconclusive, baseline.Model, $"No recommendation: the baseline {baseline.Model} was not measured: {baseline.Problem}");
        }
        // Candidates whose numbers are measurements and whose errors are no worse than the baseline's.
        var usable = comparisons.Where(c => Of(c.Candidate).Problem is null && Of(c.Candidate).ErrorRate <= baseline.ErrorRate + ErrorRateMargin).ToList();
        var cheaper = usable.Where(c => c.CostChangePercent < -0.5).OrderBy(c => c.CostChangePercent).ThenByDescending(c => c.QualityDifference).ToList();
        var proven = cheaper.FirstOrDefault(c => c.NonInferior && c.Pairs >= c.CasesNeeded);
        if (proven is not null)
        {
            return new Recommendation(RecommendedAction.Switch, proven.Candidate, $"Switch to {proven.Candidate}: {proven.Summary}");
        }
        // A cheaper candidate that may be within the margin, on too few cases to tell: a warning, not a verdict.
        var undecided = cheaper.FirstOrDefault(c => c.DifferenceInterval.High >= -margin && c.Pairs < c.CasesNeeded);
        if (undecided is not null)
        {
            return new Recommendation(RecommendedAction.Inconclusive, baseline.Model,
                $"Too few cases to recommend: {undecided.Candidate} costs {Percent(-undecided.CostChangePercent!.Value)} less than {baseline.Model}, " +
                $"but {undecided.Pairs} cases cannot tell whether it loses more than {ReportBuilder.Points(margin)} points " +
                $"(quality {Signed(undecided.QualityDifference)}, 95 % CI {Signed(undecided.DifferenceInterval.Low)} to {Signed(undecided.DifferenceInterval.High)}); " +
                $"about {Count(undecided.CasesNeeded)} cases are needed (α = 0.05, 80 % power, {ReportBuilder.Points(margin)}-point margin).");
        }
        var better = usable.Where(c => c.Verdict == Verdict.SignificantlyBetter).OrderByDescending(c => c.QualityDifference).FirstOrDefault();
        if (better is not null)
        {
            return new Recommendation(RecommendedAction.Consider, better.Candidate, $"Consider {better.Candidate} if the quality is worth the price: {better.Summary}");
        }
        var why = models.Any(m => m.Problem is not null)
            ? $"no measured candidate is shown to be cheaper within the {ReportBuilder.Points(margin)}-point margin (some models were not measured; see the warnings)."
            : models.Any(m => m.CostPer1000Requests is null)
                ? $"no candidate is known to be cheaper within the {ReportBuilder.Points(margin)}-point margin (some models have no cost from the gateway)."
                : $"no candidate is shown to be cheaper within the {ReportBuilder.Points(margin)}-point margin.";
        return new Recommendation(RecommendedAction.Keep, baseline.Model, $"Keep {baseline.Model}: {why}");
    }

    private static string Count(int n) => n == int.MaxValue ? "unknown" : n.ToString("#,0", Invariant);

    internal static string Signed(double v)
    {
        var r = Math.Round(v, 1, MidpointRounding.AwayFromZero);
        if (r == 0) return "0.0";
        return (r > 0 ? "+" : "\u2212") + Math.Abs(r).ToString("0.0", Invariant);
    }

    internal static string Percent(double v) =>
        (v >= 10 ? Math.Round(v).ToString("0", Invariant) : v.ToString("0.#", Invariant)) + " %";

    internal static string P(double p) => double.IsNaN(p) ? "p = –" : p < 0.001 ? "p < 0.001" : "p = " + p.ToString("0.000", Invariant);
}
