using Sanjia.Api.Shadow;
using Sanjia.Core.Shadow;
using Sanjia.Evaluation.Reports;

namespace Sanjia.Evaluation.Tests.Migration;

public sealed class ShadowReportTests
{
    private static ShadowPair Pair(int i, double? score, string? error = null) => new()
    {
        RequestId = $"req-{i}",
        Alias = "chat",
        Candidate = "b/m2",
        Timestamp = DateTimeOffset.UnixEpoch.AddMinutes(i),
        PrimaryText = "p",
        CandidateText = "c",
        PrimaryLatencyMs = 100 + i,
        CandidateLatencyMs = 50 + i,
        Score = score,
        CandidateError = error,
    };

    [Fact]
    public void Pairs_become_a_comparison_with_the_primary_as_baseline()
    {
        var pairs = new[] { Pair(1, 0.9), Pair(2, 0.7), Pair(3, null), Pair(4, 0, "upstream down"), Pair(5, 1.0) };

        var report = ShadowReport.Build("chat", "b/m2", threshold: 0.8, pairs, TimeProvider.System);

        Assert.Equal("chat", report.Baseline);
        Assert.Equal(4, report.Cases); // the unscored pair is left out
        var primary = report.Models.Single(m => m.Model == "chat");
        var candidate = report.Models.Single(m => m.Model == "b/m2");
        Assert.Equal(100, primary.Quality, 6);
        Assert.Equal((90 + 70 + 0 + 100) / 4.0, candidate.Quality, 6);
        Assert.Equal(0.25, candidate.ErrorRate, 6);
        Assert.Equal(2.0 / 3, candidate.PassRateByGrader[ShadowReport.Grader], 6); // 0.9 and 1.0 reach 0.8; the failed call was not graded (it is in the error rate)
        var comparison = Assert.Single(report.Comparisons);
        Assert.Equal("b/m2", comparison.Candidate);
        Assert.Equal(-((10 + 30 + 100 + 0) / 4.0), comparison.QualityDifference, 6);
        Assert.Equal(52, candidate.LatencyP50Ms, 6); // successful candidate calls: 51, 52 and 55 ms
    }

    [Fact]
    public void Cosine_similarity_is_clamped_to_zero_to_one()
    {
        Assert.Equal(1, ShadowTap.Cosine([1, 2, 3], [2, 4, 6]), 6);
        Assert.Equal(0, ShadowTap.Cosine([1, 0], [0, 1]), 6);
        Assert.Equal(0, ShadowTap.Cosine([1, 0], [-1, 0]), 6);
        Assert.Equal(0, ShadowTap.Cosine([1, 0], [1, 0, 0]), 6);
    }
}
