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

    public static string Cost(ModelSummary m) => Money(m.TotalCost, m.Currency) + (m.TotalCost is not null && m.PricedCalls < m.Cases ? $" ({m.PricedCalls}/{m.Cases} priced)" : "");

    public static string Ms(double v) => double.IsNaN(v) ? "–" : v.ToString("0", Invariant) + " ms";

    public static string Percent(double fraction) => (fraction * 100).ToString("0.#", Invariant) + " %";

    public static string PassRates(ModelSummary m) => string.Join(", ", m.PassRateByGrader.Select(kv => $"{kv.Key} {Percent(kv.Value)}"));

    public static string PValue(double p) => Recommender.P(p);

    public static string Difference(PairwiseComparison c) => $"{Recommender.Signed(c.QualityDifference)} ({Recommender.Signed(c.DifferenceInterval.Low)} to {Recommender.Signed(c.DifferenceInterval.High)})";

    public static string CostChange(PairwiseComparison c) => c.CostChangePercent is { } p ? (p > 0 ? "+" : p < 0 ? "\u2212" : "") + Math.Abs(p).ToString("0.#", Invariant) + " %" : "–";
}
