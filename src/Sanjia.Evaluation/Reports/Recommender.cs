using System.Globalization;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// Plain-language sentences. The rule: switch to the cheapest candidate that is not significantly worse than the
/// baseline and does not fail noticeably more often; otherwise point at a significantly better one; otherwise keep
/// the baseline. "Significant" means p &lt; 0.05 and a 95 % interval that excludes zero.
/// </summary>
public static class Recommender
{
    /// <summary>A candidate failing this much more often (absolute) than the baseline is not recommended.</summary>
    public const double ErrorRateMargin = 0.05;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Describe(PairwiseComparison c, ModelSummary candidate, ModelSummary baseline)
    {
        var cost = c.CostChangePercent switch
        {
            null => $"{c.Candidate} has no known cost (the gateway sent no x-sanjia-cost)" + (candidate.CostPer1000Requests is null ? "" : $" next to {c.Baseline}"),
            var p when Math.Abs(p.Value) < 0.5 => $"{c.Candidate} costs about the same as {c.Baseline}",
            var p when p < 0 => $"{c.Candidate} costs {Percent(-p.Value)} less than {c.Baseline}",
            var p => $"{c.Candidate} costs {Percent(p.Value)} more than {c.Baseline}",
        };
        var quality = $"quality {Signed(c.QualityDifference)} points (95 % CI {Signed(c.DifferenceInterval.Low)} to {Signed(c.DifferenceInterval.High)})";
        var verdict = c.Verdict switch
        {
            Verdict.SignificantlyBetter => $"significantly better ({P(c.PValue)})",
            Verdict.SignificantlyWorse => $"significant loss ({P(c.PValue)})",
            _ => c.QualityDifference >= 0 ? $"no significant difference ({P(c.PValue)})" : $"no significant loss ({P(c.PValue)})",
        };
        var errors = candidate.ErrorRate > baseline.ErrorRate + 1e-9
            ? $"; errors {Percent(candidate.ErrorRate * 100)} vs {Percent(baseline.ErrorRate * 100)}"
            : "";
        return $"{cost}; {quality}: {verdict}{errors}.";
    }

    public static Recommendation Recommend(ModelSummary baseline, IReadOnlyList<ModelSummary> models, IReadOnlyList<PairwiseComparison> comparisons)
    {
        ModelSummary Of(string m) => models.Single(s => s.Model == m);
        var acceptable = comparisons
            .Where(c => c.Verdict != Verdict.SignificantlyWorse && Of(c.Candidate).ErrorRate <= baseline.ErrorRate + ErrorRateMargin)
            .ToList();
        var cheaper = acceptable.Where(c => c.CostChangePercent < -0.5).OrderBy(c => c.CostChangePercent).ThenByDescending(c => c.QualityDifference).FirstOrDefault();
        if (cheaper is not null)
        {
            return new Recommendation(RecommendedAction.Switch, cheaper.Candidate, $"Switch to {cheaper.Candidate}: {cheaper.Summary}");
        }
        var better = acceptable.Where(c => c.Verdict == Verdict.SignificantlyBetter).OrderByDescending(c => c.QualityDifference).FirstOrDefault();
        if (better is not null)
        {
            return new Recommendation(RecommendedAction.Consider, better.Candidate, $"Consider {better.Candidate} if the quality is worth the price: {better.Summary}");
        }
        var why = comparisons.Count == 0 ? "no candidate was compared."
            : models.Any(m => m.CostPer1000Requests is null) && acceptable.Count > 0
                ? "no candidate is known to be cheaper without a significant loss of quality (some models have no cost from the gateway)."
                : "no candidate is cheaper without a significant loss of quality.";
        return new Recommendation(RecommendedAction.Keep, baseline.Model, $"Keep {baseline.Model}: {why}");
    }

    internal static string Signed(double v)
    {
        var r = Math.Round(v, 1, MidpointRounding.AwayFromZero);
        if (r == 0) return "0.0";
        return (r > 0 ? "+" : "\u2212") + Math.Abs(r).ToString("0.0", Invariant);
    }

    internal static string Percent(double v) =>
        (v >= 10 ? Math.Round(v).ToString("0", Invariant) : v.ToString("0.#", Invariant)) + " %";

    internal static string P(double p) => p < 0.001 ? "p < 0.001" : "p = " + p.ToString("0.000", Invariant);
}
