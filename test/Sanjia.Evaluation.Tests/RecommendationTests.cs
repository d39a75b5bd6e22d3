using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Tests;

public class RecommendationTests
{
    private static EvalSuite Suite(int cases) => new("s", [.. Enumerable.Range(0, cases).Select(i => new EvalCase($"c{i}", [new EvalMessage("user", "q")], null, []))], []);

    private static IEnumerable<CellResult> Cells(string model, int cases, Func<int, double> score, decimal costPerCall, string? error = null) =>
        Enumerable.Range(0, cases).Select(i => new CellResult
        {
            CaseId = $"c{i}",
            Model = model,
            Score = error is null ? score(i) : 0,
            Cost = costPerCall,
            Currency = "USD",
            LatencyMs = 100 + i,
            Error = error is not null && i % 2 == 0 ? error : null,
        });

    [Fact]
    public void A_much_cheaper_model_without_significant_loss_is_recommended_in_plain_words()
    {
        var results = Cells("A", 30, i => 0.9, 0.010m)
            .Concat(Cells("B", 30, i => i == 3 ? 0.5 : 0.9, 0.0029m))
            .ToList();
        var report = ReportBuilder.Build("r", Suite(30), ["A", "B"], "A", results);
        var b = Assert.Single(report.Comparisons);
        Assert.Equal(Verdict.NoSignificantDifference, b.Verdict);
        Assert.Equal(-71, b.CostChangePercent!.Value, 6);
        Assert.StartsWith("B costs 71 % less than A; quality \u22121.3 points (95 % CI ", b.Summary);
        Assert.Contains("no significant difference", b.Summary);
        Assert.Contains("loses less than the 5-point margin", b.Summary);
        Assert.True(b.NonInferior);
        Assert.True(b.Pairs >= b.CasesNeeded, $"{b.CasesNeeded} cases needed");
        Assert.Equal(RecommendedAction.Switch, report.Recommendation.Action);
        Assert.Equal("B", report.Recommendation.Model);
        Assert.StartsWith("Switch to B: B costs 71 % less than A", report.Recommendation.Text);
    }

    [Fact]
    public void A_cheaper_but_significantly_worse_model_is_not_recommended()
    {
        var results = Cells("A", 30, _ => 0.9, 0.01m).Concat(Cells("B", 30, i => i % 3 == 0 ? 0.9 : 0.2, 0.001m)).ToList();
        var report = ReportBuilder.Build("r", Suite(30), ["A", "B"], "A", results);
        var b = Assert.Single(report.Comparisons);
        Assert.Equal(Verdict.SignificantlyWorse, b.Verdict);
        Assert.Contains("significantly worse (p < 0.001)", b.Summary);
        Assert.Equal(RecommendedAction.Keep, report.Recommendation.Action);
        Assert.StartsWith("Keep A:", report.Recommendation.Text);
    }

    [Fact]
    public void A_significantly_better_dearer_model_is_suggested_for_consideration()
    {
        var results = Cells("A", 30, i => i % 2 == 0 ? 0.4 : 0.6, 0.01m).Concat(Cells("B", 30, _ => 0.95, 0.02m)).ToList();
        var report = ReportBuilder.Build("r", Suite(30), ["A", "B"], "A", results);
        Assert.Equal(RecommendedAction.Consider, report.Recommendation.Action);
        Assert.Contains("B costs 100 % more than A", report.Recommendation.Text);
        Assert.Contains("significantly better", report.Recommendation.Text);
    }

    [Fact]
    public void A_model_that_fails_often_is_not_recommended_even_when_cheap()
    {
        var results = Cells("A", 20, _ => 0.5, 0.01m).Concat(Cells("B", 20, _ => 0.5, 0.001m, error: "HTTP 502")).ToList();
        var report = ReportBuilder.Build("r", Suite(20), ["A", "B"], "A", results);
        var b = report.Models.Single(m => m.Model == "B");
        Assert.Equal(0.5, b.ErrorRate);
        Assert.Equal(RecommendedAction.Keep, report.Recommendation.Action);
    }

    [Fact]
    public void Unpriced_models_are_said_to_have_no_known_cost_and_stay_off_the_front()
    {
        var results = Cells("A", 10, _ => 0.5, 0.01m)
            .Concat(Cells("B", 10, _ => 0.5, 0m).Select(c => c with { Cost = null, Currency = null }))
            .ToList();
        var report = ReportBuilder.Build("r", Suite(10), ["A", "B"], "A", results);
        Assert.Contains("B has no known cost", report.Comparisons[0].Summary);
        Assert.Equal(["A"], report.ParetoFront);
        Assert.Null(report.Models.Single(m => m.Model == "B").CostPer1000Requests);
        Assert.Contains("Not shown (no cost from the gateway, or not measured): B", SvgChart.Render(report));
    }

    [Fact]
    public void Outputs_agree_and_json_round_trips()
    {
        var results = Cells("A", 12, _ => 0.8, 0.01m).Concat(Cells("B", 12, _ => 0.7, 0.002m)).ToList();
        var report = ReportBuilder.Build("r1", Suite(12), ["A", "B"], "A", results);
        var md = MarkdownReport.Render(report);
        var html = HtmlReport.Render(report);
        Assert.Contains(report.Recommendation.Text, md);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(report.Recommendation.Text), html);
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal));
        var back = JsonReport.Parse(JsonReport.Render(report))!;
        Assert.Equal(report.Recommendation, back.Recommendation);
        Assert.Equal(report.ParetoFront, back.ParetoFront);
        Assert.Equal(report.Models[1].Quality, back.Models[1].Quality, 9);
        Assert.Equal(report.Models[1].QualityInterval, back.Models[1].QualityInterval);
    }
}
