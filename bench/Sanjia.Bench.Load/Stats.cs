namespace Sanjia.Bench.Load;

/// <summary>Nearest-rank percentiles and medians over raw samples.</summary>
public static class Stats
{
    public static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    public static double Median(IEnumerable<double> values)
    {
        var list = values.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToList();
        if (list.Count == 0) return double.NaN;
        return list.Count % 2 == 1 ? list[list.Count / 2] : (list[list.Count / 2 - 1] + list[list.Count / 2]) / 2;
    }
}
