using System.Globalization;

namespace Sanjia.Evaluation.Reports;

/// <summary>Number formatting shared by every report format, so the terminal, Markdown and HTML say the same thing.</summary>
public static class Format
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Quality(ModelSummary m) => double.IsNaN(m.Quality) ? "–" : m.Quality.ToString("0.0", Invariant);

    public static string Interval(Interval i) => double.IsNaN(i.Low) ? "–" : $"{i.Low.ToString("0.0", Invariant)}–{i.High.ToString("0.0", Invariant)}";

    public static string Money(decimal? value, string? currency) => value switch
    {
        null => "unpriced",
        var v => (v.Value >= 100 ? v.Value.ToString("0.00", Invariant) : v.Value.ToString("0.####", Invariant)) + (currency is null ? "" : " " + currency),
    };

    public static string Cost(ModelSummary m) => Money(m.TotalCost, m.Currency) + (m.TotalCost is not null && m.PricedCalls < m.Calls ? $" ({m.PricedCalls}/{m.Calls} priced)" : "");

    public static string Ms(double v) => double.IsNaN(v) ? "–" : v.ToString("0", Invariant) + " ms";

    public static string Percent(double fraction) => double.IsNaN(fraction) ? "–" : (fraction * 100).ToString("0.#", Invariant) + " %";

    public static string PassRates(ModelSummary m) => string.Join(", ", m.PassRateByGrader.Select(kv => $"{kv.Key} {Percent(kv.Value)}"));

    /// <summary>A grader's pass rate, or its failures when it could not decide on some cells (never a silent 0).</summary>
    public static string PassRate(ModelSummary m, string grader)
    {
        var rate = m.PassRateByGrader.TryGetValue(grader, out var v) ? Percent(v) : "–";
        return m.GraderFailures.TryGetValue(grader, out var failed) ? $"{rate} (ERROR on {failed})" : rate;
    }

    /// <summary>Per case after the gateway's retries, then per upstream call.</summary>
    public static string Errors(ModelSummary m) => m.CallErrorRate > m.ErrorRate + 1e-9 ? $"{Percent(m.ErrorRate)} ({Percent(m.CallErrorRate)} of calls)" : Percent(m.ErrorRate);

    public static string PassAtK(ModelSummary m) => string.Join(", ", m.PassAtK.OrderBy(kv => kv.Key).Select(kv => $"pass@{kv.Key} {Percent(kv.Value)}"));

    public static string PValue(double p) => Recommender.P(p);

    public static string Difference(PairwiseComparison c) => $"{Recommender.Signed(c.QualityDifference)} ({Recommender.Signed(c.DifferenceInterval.Low)} to {Recommender.Signed(c.DifferenceInterval.High)})";

    public static string CostChange(PairwiseComparison c) => c.CostChangePercent is { } p ? (p > 0 ? "+" : p < 0 ? "\u2212" : "") + Math.Abs(p).ToString("0.#", Invariant) + " %" : "–";

    public static string Needed(PairwiseComparison c) => c.CasesNeeded == int.MaxValue ? "–" : c.CasesNeeded.ToString("#,0", Invariant) + (c.Pairs < c.CasesNeeded ? " (too few)" : "");

    /// <summary>The method note under every report.</summary>
    public static string Method(ComparisonReport r) =>
        $"Quality is the mean case score on a 0–100 scale (failed calls score 0; with samples, each case's mean). Pareto ★: no other model is both cheaper and better; models not measured on every case are left out. " +
        $"Significance: two-sided sign-flip permutation test on per-case differences, Holm-adjusted across the {r.Comparisons.Count} candidate(s), p < 0.05 and a bootstrap interval (by case) excluding 0. " +
        $"Switch only when the lower bound of the 95 % interval is above −{ReportBuilder.Points(r.Margin)} points (the non-inferiority margin) and the run has the cases non-inferiority needs (α = 0.05, 80 % power). " +
        "Errors: per case after the gateway's retries (per upstream call in brackets).";
}
