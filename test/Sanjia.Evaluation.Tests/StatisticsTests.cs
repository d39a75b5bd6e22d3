using Sanjia.Evaluation.Reports;

namespace Sanjia.Evaluation.Tests;

public class StatisticsTests
{
    private static double[] Sample(Random random, int n, double mean) =>
        // Skewed scores (exponential shape) around a known mean: harder for an interval than a symmetric sample.
        [.. Enumerable.Range(0, n).Select(_ => mean * -Math.Log(1 - random.NextDouble()))];

    [Fact]
    public void Bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time()
    {
        const double trueMean = 60;
        const int seeds = 400;
        var covered = 0;
        for (var seed = 0; seed < seeds; seed++)
        {
            var data = Sample(new Random(seed), 80, trueMean);
            var interval = Statistics.BootstrapMean(data, new Random(10_000 + seed), iterations: 1000);
            if (interval.Contains(trueMean)) covered++;
        }
        var coverage = (double)covered / seeds;
        Assert.InRange(coverage, 0.92, 0.98);
    }

    [Fact]
    public void Bootstrap_interval_is_reproducible_from_its_seed_and_contains_the_sample_mean()
    {
        var data = Sample(new Random(1), 50, 10);
        var a = Statistics.BootstrapMean(data, new Random(7));
        var b = Statistics.BootstrapMean(data, new Random(7));
        Assert.Equal(a, b);
        Assert.True(a.Contains(data.Average()));
        Assert.True(a.Low < a.High);
    }

    [Fact]
    public void Paired_test_false_positive_rate_is_near_5_percent_under_the_null()
    {
        const int seeds = 400;
        var rejections = 0;
        for (var seed = 0; seed < seeds; seed++)
        {
            var random = new Random(seed);
            // Two models of equal quality: per-case scores share a case difficulty, plus independent noise.
            var diffs = Enumerable.Range(0, 40).Select(_ =>
            {
                var difficulty = random.NextDouble() * 60;
                var a = difficulty + random.NextDouble() * 40;
                var b = difficulty + random.NextDouble() * 40;
                return a - b;
            }).ToList();
            if (Statistics.PairedTest(diffs, new Random(50_000 + seed), iterations: 2000).PValue < 0.05) rejections++;
        }
        Assert.InRange((double)rejections / seeds, 0.02, 0.08);
    }

    [Fact]
    public void Paired_test_detects_a_real_difference()
    {
        var random = new Random(3);
        var diffs = Enumerable.Range(0, 40).Select(_ => 10 + (random.NextDouble() - 0.5) * 20).ToList();
        var result = Statistics.PairedTest(diffs, new Random(4));
        Assert.True(result.PValue < 0.01, $"p = {result.PValue}");
        Assert.True(result.Interval.Low > 0);
    }

    [Fact]
    public void Paired_test_is_exact_for_few_differences()
    {
        // One case differs: flipping its sign is as extreme, so p = 1. Two equal-sign differences: 2 of 4 flips are as extreme.
        Assert.Equal(1.0, Statistics.PairedTest([0, 0, -100, 0], new Random(1)).PValue);
        Assert.Equal(0.5, Statistics.PairedTest([100, 0, 100], new Random(1)).PValue);
        Assert.Equal(1.0, Statistics.PairedTest([0, 0, 0], new Random(1)).PValue);
    }

    [Fact]
    public void Percentiles_interpolate_between_ranks()
    {
        double[] v = [10, 20, 30, 40, 50];
        Assert.Equal(30, Statistics.Percentile(v, 50));
        Assert.Equal(48, Statistics.Percentile(v, 95), 6);
        Assert.True(double.IsNaN(Statistics.Percentile([], 50)));
    }

    [Fact]
    public void Pareto_front_keeps_only_undominated_models()
    {
        var front = ParetoFront.Find([("premium", 10, 95), ("budget", 2, 90), ("overpriced", 12, 50), ("same-but-dearer", 3, 90), ("free", 0, 5)]);
        Assert.Equal(["free", "budget", "premium"], front);
    }
}
