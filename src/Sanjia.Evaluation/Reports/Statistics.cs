namespace Sanjia.Evaluation.Reports;

/// <summary>A two-sided interval.</summary>
public readonly record struct Interval(double Low, double High)
{
    public bool Contains(double x) => x >= Low && x <= High;
}

/// <summary>The paired comparison of two models on the same cases: mean difference, its interval, and a p-value.</summary>
public sealed record PairedResult(int Pairs, double MeanDifference, Interval Interval, double PValue);

/// <summary>
/// Resampling statistics. Every method takes its <see cref="Random"/>, so a report is reproducible from its seed
/// and tests can check coverage over many seeds.
/// </summary>
public static class Statistics
{
    public const int DefaultIterations = 4000;

    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>Linear interpolation between closest ranks (the common "type 7" definition); NaN when empty.</summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary>Percentile bootstrap interval for the mean.</summary>
    public static Interval BootstrapMean(IReadOnlyList<double> values, Random random, double level = 0.95, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (values.Count == 0) return new Interval(double.NaN, double.NaN);
        var n = values.Count;
        var means = new double[iterations];
        for (var b = 0; b < iterations; b++)
        {
            double sum = 0;
            for (var i = 0; i < n; i++) sum += values[random.Next(n)];
            means[b] = sum / n;
        }
        Array.Sort(means);
        var alpha = (1 - level) / 2;
        return new Interval(SortedQuantile(means, alpha), SortedQuantile(means, 1 - alpha));
    }

    /// <summary>
    /// Paired comparison on per-case differences (candidate − baseline): the bootstrap interval of the mean
    /// difference and a two-sided sign-flip permutation p-value (under "no difference", each difference is as likely
    /// negated). Exact enumeration when at most 16 differences are non-zero, else <paramref name="iterations"/> random flips.
    /// </summary>
    public static PairedResult PairedTest(IReadOnlyList<double> differences, Random random, double level = 0.95, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(random);
        var n = differences.Count;
        if (n == 0) return new PairedResult(0, double.NaN, new Interval(double.NaN, double.NaN), double.NaN);
        var mean = differences.Average();
        var interval = BootstrapMean(differences, random, level, iterations);
        var nonZero = differences.Where(d => d != 0).ToArray();
        // Sums, not means: the zeros add nothing to either side, and comparing sums avoids division noise.
        var observed = Math.Abs(nonZero.Sum()) - 1e-9;
        double p;
        if (nonZero.Length == 0)
        {
            p = 1;
        }
        else if (nonZero.Length <= 16)
        {
            var total = 1 << nonZero.Length;
            var extreme = 0;
            for (var mask = 0; mask < total; mask++)
            {
                double s = 0;
                for (var i = 0; i < nonZero.Length; i++) s += (mask & (1 << i)) != 0 ? -nonZero[i] : nonZero[i];
                if (Math.Abs(s) >= observed) extreme++;
            }
            p = (double)extreme / total;
        }
        else
        {
            var extreme = 0;
            for (var b = 0; b < iterations; b++)
            {
                double s = 0;
                foreach (var d in nonZero) s += random.Next(2) == 0 ? d : -d;
                if (Math.Abs(s) >= observed) extreme++;
            }
            p = (extreme + 1.0) / (iterations + 1.0);
        }
        return new PairedResult(n, mean, interval, Math.Min(1, p));
    }

    /// <summary>z for a two-sided 95 % interval (α = 0.05) and for 80 % power.</summary>
    public const double Z975 = 1.959963984540054, Z80 = 0.8416212335729143;

    /// <summary>
    /// Holm's step-down adjustment of p-values tested together (family-wise error ≤ α across candidates): sorted
    /// ascending, the i-th smallest (from 0) becomes max over j ≤ i of min(1, (m − j) · p_j). NaN stays NaN and does not count in m.
    /// </summary>
    public static double[] Holm(IReadOnlyList<double> pValues)
    {
        ArgumentNullException.ThrowIfNull(pValues);
        var adjusted = pValues.ToArray();
        var order = Enumerable.Range(0, pValues.Count).Where(i => !double.IsNaN(pValues[i])).OrderBy(i => pValues[i]).ToList();
        var running = 0.0;
        for (var rank = 0; rank < order.Count; rank++)
        {
            running = Math.Max(running, Math.Min(1, (order.Count - rank) * pValues[order[rank]]));
            adjusted[order[rank]] = running;
        }
        return adjusted;
    }

    /// <summary>
    /// Cases a paired comparison needs to show non-inferiority at <paramref name="margin"/> points with a two-sided
    /// 95 % interval (α = 0.05) and 80 % power when the true difference is 0: n = ((z₀.₉₇₅ + z₀.₈) · σ / margin)²,
    /// σ the standard deviation of the per-case differences. When every difference is 0 the sample says nothing of σ;
    /// it is then taken as if one more case had differed by 100 points (σ = 100 / √(n + 1)), so a handful of identical
    /// answers does not pass for proof.
    /// </summary>
    public static int CasesNeeded(IReadOnlyList<double> differences, double margin)
    {
        ArgumentNullException.ThrowIfNull(differences);
        if (!(margin > 0)) throw new ArgumentOutOfRangeException(nameof(margin), "The margin must be above 0.");
        var n = differences.Count;
        var sd = n < 2 ? 0 : Math.Sqrt(differences.Sum(d => (d - differences.Average()) * (d - differences.Average())) / (n - 1));
        if (sd == 0) sd = 100 / Math.Sqrt(n + 1);
        var needed = Math.Pow((Z975 + Z80) * sd / margin, 2);
        return (int)Math.Min(int.MaxValue, Math.Max(2, Math.Ceiling(needed - 1e-9)));
    }

    /// <summary>
    /// The unbiased pass@k estimator (Chen et al. 2021) for one case with <paramref name="n"/> samples of which
    /// <paramref name="c"/> passed: 1 − C(n − c, k) / C(n, k), computed as a product to stay exact for large n.
    /// </summary>
    public static double PassAtK(int n, int c, int k)
    {
        if (k < 1 || k > n || c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(k), $"Need 1 ≤ k ≤ n and 0 ≤ c ≤ n (n = {n}, c = {c}, k = {k}).");
        if (n - c < k) return 1;
        double fail = 1;
        for (var i = n - c + 1; i <= n; i++) fail *= 1 - (double)k / i;
        return 1 - fail;
    }

    private static double SortedQuantile(double[] sorted, double q)
    {
        var rank = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
