using System.Text.RegularExpressions;
using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Tests;

/// <summary>The decisions a report makes from cells whose truth is known: margins, sample sizes, Holm, failures that are not the model's.</summary>
public class DecisionTests
{
    private static EvalSuite Suite(int cases) => new("s", [.. Enumerable.Range(0, cases).Select(i => new EvalCase($"c{i}", [new EvalMessage("user", $"question {i}")], "x", []))], []);

    private static IEnumerable<CellResult> Cells(string model, int cases, Func<int, bool> passes, decimal cost) =>
        Enumerable.Range(0, cases).Select(i => new CellResult
        {
            CaseId = $"c{i}",
            Model = model,
            Score = passes(i) ? 1 : 0,
            Grades = [new GraderOutcome("contains", passes(i) ? 1 : 0, passes(i), null, false)],
            Output = passes(i) ? "x" : "y",
            Cost = cost,
            Currency = "USD",
            LatencyMs = 100,
        });

    [Fact]
    public void Ten_cases_with_a_30_point_loss_warn_with_the_cases_needed_instead_of_switching()
    {
        // The issue's example: premium 10/10, cheap 7/10 used to read "Switch to cheap ... no significant loss".
        var results = Cells("premium", 10, _ => true, 0.01m).Concat(Cells("cheap", 10, i => i >= 3, 0.001m)).ToList();
        var report = ReportBuilder.Build("r", Suite(10), ["premium", "cheap"], "premium", results);

        var cheap = Assert.Single(report.Comparisons);
        Assert.Equal(-30, cheap.QualityDifference, 6);
        Assert.False(cheap.NonInferior);
        // σ of the differences = √((7·30² + 3·70²)/9) = 48.3; n = ((1.960 + 0.842) · 48.3 / 5)² = 732.
        Assert.Equal(733, cheap.CasesNeeded);
        Assert.Equal(RecommendedAction.Inconclusive, report.Recommendation.Action);
        Assert.DoesNotContain("Switch", report.Recommendation.Text);
        Assert.Matches(@"^Too few cases to recommend: cheap costs 90 % less than premium, but 10 cases cannot tell whether it loses more than 5 points .* about 73\d cases are needed \(α = 0\.05, 80 % power, 5-point margin\)\.$", report.Recommendation.Text);
        Assert.Contains("non-inferiority margin 5 points", MarkdownReport.Render(report));
    }

    [Fact]
    public void Four_identical_answers_are_not_proof()
    {
        var results = Cells("a", 4, _ => true, 0.01m).Concat(Cells("b", 4, _ => true, 0.001m)).ToList();
        var report = ReportBuilder.Build("r", Suite(4), ["a", "b"], "a", results);
        Assert.True(report.Comparisons[0].NonInferior);
        Assert.True(report.Comparisons[0].CasesNeeded > 4);
        Assert.Equal(RecommendedAction.Inconclusive, report.Recommendation.Action);
    }

    [Theory]
    [InlineData(10, RecommendedAction.Switch)]
    [InlineData(2, RecommendedAction.Inconclusive)]
    public void The_recommendation_follows_the_margin(double margin, RecommendedAction expected)
    {
        // 60 cases: the candidate misses one; its 95 % interval reaches about −5 points.
        var results = Cells("base", 60, _ => true, 0.01m).Concat(Cells("cand", 60, i => i != 17, 0.002m)).ToList();
        var report = ReportBuilder.Build("r", Suite(60), ["base", "cand"], "base", results, new ReportSettings { Margin = margin });
        var c = Assert.Single(report.Comparisons);
        Assert.Equal(margin > 5, c.NonInferior);
        Assert.Equal(expected, report.Recommendation.Action);
        Assert.Equal(margin, report.Margin);
    }

    [Fact]
    public void Holm_adjusts_p_values_across_candidates()
    {
        Assert.Equal([0.03, 0.06, 0.06, double.NaN], Statistics.Holm([0.01, 0.04, 0.03, double.NaN]).Select(p => Math.Round(p, 9)));
        Assert.Equal([1.0, 1.0], Statistics.Holm([0.6, 0.9]));

        // Three candidates each 2 cases better of 12: p = 0.5 alone; the adjusted p is never below the raw one.
        var results = Cells("base", 12, i => i > 1, 0.01m)
            .Concat(Cells("x", 12, _ => true, 0.01m)).Concat(Cells("y", 12, _ => true, 0.01m)).Concat(Cells("z", 12, _ => true, 0.01m)).ToList();
        var report = ReportBuilder.Build("r", Suite(12), ["base", "x", "y", "z"], "base", results);
        Assert.All(report.Comparisons, c => Assert.True(c.AdjustedPValue >= c.PValue));
        Assert.All(report.Comparisons, c => Assert.Equal(Math.Min(1, 3 * report.Comparisons.Min(x => x.PValue)), report.Comparisons.Min(x => x.AdjustedPValue), 9));
    }

    [Fact]
    public void Pass_at_k_is_the_unbiased_estimator()
    {
        Assert.Equal(0.4, Statistics.PassAtK(5, 2, 1), 9);
        Assert.Equal(1 - 3.0 / 10, Statistics.PassAtK(5, 2, 2), 9);
        Assert.Equal(1, Statistics.PassAtK(5, 4, 2), 9);
        Assert.Equal(0, Statistics.PassAtK(5, 0, 3), 9);
    }

    [Fact]
    public void Per_grader_pass_rates_leave_out_failed_calls()
    {
        // 15 cases, 3 timeouts; of the 12 answers "contains" passes 11 and "exact" all 12.
        var cells = Enumerable.Range(0, 15).Select(i => i < 3
            ? new CellResult { CaseId = $"c{i}", Model = "m", Error = "timed out", ErrorStatus = 0 }
            : new CellResult
            {
                CaseId = $"c{i}",
                Model = "m",
                Score = i == 5 ? 0.5 : 1,
                Grades = [new GraderOutcome("contains", i == 5 ? 0 : 1, i != 5, null, false), new GraderOutcome("exact", 1, true, null, false)],
            }).ToList();
        var report = ReportBuilder.Build("r", Suite(15), ["m"], "m", cells);
        var m = report.Models[0];
        Assert.Equal(11.0 / 12, m.PassRateByGrader["contains"], 9);
        Assert.Equal(1.0, m.PassRateByGrader["exact"], 9);
        Assert.Equal(3.0 / 15, m.ErrorRate, 9);
    }

    [Fact]
    public void Calls_refused_by_the_budget_make_the_model_unmeasured_and_keep_it_off_the_front()
    {
        // "cheap" answered the first 3 cases, then the key's budget was spent: it used to show quality 10.0 on the front.
        var cheap = Cells("cheap", 30, _ => true, 0.001m).Select((c, i) => i < 3 ? c : c with
        {
            Score = 0, Grades = [], Cost = null, Output = "", ErrorStatus = 429, ErrorCode = "budget_exceeded", Error = "Budget exceeded for key k.",
        });
        var results = Cells("premium", 30, _ => true, 0.01m).Concat(cheap).ToList();
        var report = ReportBuilder.Build("r", Suite(30), ["premium", "cheap"], "premium", results);
        var m = report.Models.Single(x => x.Model == "cheap");
        Assert.Equal(27, m.NotMeasured);
        Assert.NotNull(m.Problem);
        Assert.Contains("27 budget_exceeded", m.Problem);
        Assert.False(m.OnParetoFront);
        Assert.Equal(["premium"], report.ParetoFront);
        Assert.NotEqual(RecommendedAction.Switch, report.Recommendation.Action);
        Assert.Contains(report.Warnings, w => w.StartsWith("cheap: 27 of 30 calls were refused", StringComparison.Ordinal));
        Assert.Contains("**ERROR:** cheap: 27 of 30", MarkdownReport.Render(report));
    }

    [Fact]
    public void A_failed_judge_is_an_error_in_both_reports_not_a_silent_zero()
    {
        var results = Cells("a", 5, _ => true, 0.01m).Concat(Enumerable.Range(0, 5).Select(i => new CellResult
        {
            CaseId = $"c{i}",
            Model = "b",
            Output = "an answer",
            Grades = [new GraderOutcome("judge", 0, false, "judge 'nope/missing' failed: The model 'nope/missing' does not exist", true)],
            Cost = 0.001m,
            Currency = "USD",
        })).ToList();
        var report = ReportBuilder.Build("r", Suite(5), ["a", "b"], "a", results);
        var b = report.Models.Single(m => m.Model == "b");
        Assert.Equal(5, b.GraderFailures["judge"]);
        Assert.True(double.IsNaN(b.PassRateByGrader["judge"]));
        Assert.False(b.OnParetoFront);
        var md = MarkdownReport.Render(report);
        Assert.Contains("grader 'judge' failed on 5 of 5 cells (judge 'nope/missing' failed", md);
        Assert.Contains("– (ERROR on 5)", md);
        var html = HtmlReport.Render(report);
        Assert.Contains("<strong>ERROR:</strong> b: grader &#39;judge&#39; failed on 5 of 5 cells", html);
        Assert.Contains("judge: ERROR — judge &#39;nope/missing&#39; failed", html);
    }

    [Fact]
    public void Chart_labels_stay_inside_and_the_cost_axis_can_be_logarithmic()
    {
        var results = Cells("premium-model-with-a-long-name", 10, _ => true, 0.05m)
            .Concat(Cells("tiny", 10, _ => true, 0.0001m)).Concat(Cells("free", 10, i => i > 0, 0m)).ToList();
        var report = ReportBuilder.Build("r", Suite(10), ["premium-model-with-a-long-name", "tiny", "free"], "premium-model-with-a-long-name", results);
        var linear = SvgChart.Render(report);
        // The dearest model is at the right edge: its "(baseline)" label goes to the left of the point.
        var label = Regex.Match(linear, "<text class=\"label\" x=\"([0-9.]+)\" y=\"[0-9.]+\" text-anchor=\"(start|end)\">premium-model-with-a-long-name \\(baseline\\)</text>");
        Assert.True(label.Success, linear);
        Assert.Equal("end", label.Groups[2].Value);
        Assert.All(Regex.Matches(linear, "<text class=\"label\" x=\"([0-9.]+)\"[^>]*text-anchor=\"start\">([^<]+)<").Cast<Match>(),
            m => Assert.True(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + m.Groups[2].Value.Length * 7 <= 720, m.Value));

        var log = SvgChart.Render(report, logCost: true);
        Assert.Contains("log scale", log);
        double Cx(string svg, string model) => double.Parse(Regex.Match(svg, $"data-model=\"{model}\" cx=\"([0-9.]+)\"").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // Linear: tiny sits on top of free at x≈0; log: they are spread apart.
        Assert.True(Cx(linear, "tiny") - Cx(linear, "free") < 2);
        Assert.True(Cx(log, "tiny") - Cx(log, "free") > 50);
        var html = HtmlReport.Render(report with { LogCostAxis = true });
        Assert.Contains("id=\"scale-log\" checked", html);
    }

    [Fact]
    public void The_case_matrix_shows_answers_grades_and_errors_for_300_cases_by_4_models()
    {
        var models = new[] { "a", "b", "c", "d" };
        var results = models.SelectMany((m, k) => Enumerable.Range(0, 300).Select(i => new CellResult
        {
            CaseId = $"c{i}",
            Model = m,
            Score = (i + k) % 3 == 0 ? 0 : 1,
            Grades = [new GraderOutcome("contains", (i + k) % 3 == 0 ? 0 : 1, (i + k) % 3 != 0, (i + k) % 3 == 0 ? "missing 'x'" : null, false)],
            Output = $"<answer {i} of {m}> " + new string('w', 2000),
            Error = m == "d" && i == 7 ? "HTTP 502: upstream down" : null,
            Cost = 0.001m,
            Currency = "USD",
        })).ToList();
        var report = ReportBuilder.Build("r", Suite(300), models, "a", results);
        var html = HtmlReport.Render(report);
        Assert.Equal(300, Regex.Matches(html, "<tr id=\"case-c").Count);
        Assert.Contains("position:sticky", html);
        Assert.Contains("&lt;answer 12 of c&gt;", html);
        Assert.Contains("contains: fail — missing &#39;x&#39;", html);
        Assert.Contains("<strong>ERROR</strong> <span class=\"reason\">HTTP 502: upstream down</span>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal));
        // Answers are cut in the drill-down: the page stays a few MB at 300 × 4.
        Assert.InRange(html.Length, 1_000_000, 6_000_000);
        var back = JsonReport.Parse(JsonReport.Render(report))!;
        Assert.Equal(300, back.CaseRows.Count);
    }

    [Fact]
    public void Fail_conditions_gate_ci_runs()
    {
        var results = Cells("base", 20, _ => true, 0.01m).Concat(Cells("cand", 20, i => i % 5 != 0, 0.002m)).ToList();
        var report = ReportBuilder.Build("r", Suite(20), ["base", "cand"], "base", results);
        Assert.Equal(["quality(candidate) < 90: quality(cand) is 80"], FailCondition.Parse("quality(candidate) < 90").Check(report));
        Assert.Empty(FailCondition.Parse("quality(baseline) < 90").Check(report));
        Assert.Single(FailCondition.Parse("errors(cand) >= 0").Check(report));
        Assert.Throws<FormatException>(() => FailCondition.Parse("quality > 9"));
        Assert.Throws<FormatException>(() => FailCondition.Parse("speed(x) > 9"));
        Assert.False(FailCondition.Parse("quality(nope) < 1").NamesAModelOf(["base", "cand"]));
    }
}
