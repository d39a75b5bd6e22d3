using System.Globalization;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Reports;

/// <summary>How a report judges: the bootstrap seed and the non-inferiority margin.</summary>
public sealed record ReportSettings
{
    public int Seed { get; init; } = ReportBuilder.DefaultSeed;

    /// <summary>Quality points a cheaper candidate may lose and still be recommended (lower bound of the 95 % interval above −margin).</summary>
    public double Margin { get; init; } = ReportBuilder.DefaultMargin;

    /// <summary>Calls per case and model the run was asked for (to count missing cells).</summary>
    public int Samples { get; init; } = 1;

    /// <summary>Open the HTML chart with a log-scale cost axis.</summary>
    public bool LogCostAxis { get; init; }
}

/// <summary>Turns stored cell results into a <see cref="ComparisonReport"/>. Deterministic for a given seed.</summary>
public static class ReportBuilder
{
    public const int DefaultSeed = 20240601;

    /// <summary>Default non-inferiority margin: 5 quality points (of 100).</summary>
    public const double DefaultMargin = 5;

    /// <summary>A difference is called significant only when the Holm-adjusted p &lt; this and the interval excludes zero.</summary>
    public const double Alpha = 0.05;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static ComparisonReport Build(string runId, EvalSuite suite, IReadOnlyList<string> models, string baseline,
        IReadOnlyList<CellResult> results, int seed = DefaultSeed, TimeProvider? time = null) =>
        Build(runId, suite, models, baseline, results, new ReportSettings { Seed = seed }, time);

    public static ComparisonReport Build(string runId, EvalSuite suite, IReadOnlyList<string> models, string baseline,
        IReadOnlyList<CellResult> results, ReportSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(settings);
        if (!models.Contains(baseline, StringComparer.Ordinal)) throw new ArgumentException($"The baseline '{baseline}' is not one of the models compared.", nameof(baseline));
        var seed = settings.Seed;
        var byModel = models.ToDictionary(m => m, m => results.Where(r => r.Model == m).ToList(), StringComparer.Ordinal);
        // One random source per purpose and model keeps each number independent of the others' order.
        var summaries = models.Select((m, i) => Summarise(m, byModel[m], new Random(seed + i))).ToList();

        // Only models measured on every case they ran can be placed: a budget refusal or a failed grader is not a quality.
        var front = ParetoFront.Find(summaries.Where(s => s.CostPer1000Requests is not null && s.Problem is null)
            .Select(s => (s.Model, (double)s.CostPer1000Requests!.Value, s.Quality)));
        summaries = [.. summaries.Select(s => s with { OnParetoFront = front.Contains(s.Model) })];

        var baseSummary = summaries.Single(s => s.Model == baseline);
        var comparisons = summaries.Where(s => s.Model != baseline)
            .Select((s, i) => Compare(s, baseSummary, CaseScores(byModel[s.Model]), CaseScores(byModel[baseline]), settings.Margin, new Random(seed + 1000 + i)))
            .ToList();
        var adjusted = Statistics.Holm([.. comparisons.Select(c => c.PValue)]);
        comparisons = [.. comparisons.Select((c, i) =>
        {
            var significant = adjusted[i] < Alpha && !c.DifferenceInterval.Contains(0);
            var verdict = !significant ? Verdict.NoSignificantDifference : c.QualityDifference > 0 ? Verdict.SignificantlyBetter : Verdict.SignificantlyWorse;
            var withVerdict = c with { AdjustedPValue = adjusted[i], Verdict = verdict };
            return withVerdict with { Summary = Recommender.Describe(withVerdict, summaries.Single(s => s.Model == c.Candidate), baseSummary, settings.Margin) };
        })];
        var missing = suite.Cases.Count * models.Count * settings.Samples - byModel.Values.Sum(d => d.Count);
        var warnings = summaries.Where(s => s.Problem is not null).Select(s => $"{s.Model}: {s.Problem}").ToList();
        return new ComparisonReport
        {
            RunId = runId,
            Suite = suite.Name,
            Baseline = baseline,
            Cases = suite.Cases.Count,
            Samples = settings.Samples,
            Seed = seed,
            Margin = settings.Margin,
            LogCostAxis = settings.LogCostAxis,
            GeneratedAt = (time ?? TimeProvider.System).GetUtcNow(),
            Models = summaries,
            Comparisons = comparisons,
            ParetoFront = front,
            Recommendation = Recommender.Recommend(baseSummary, summaries, comparisons, settings.Margin),
            MissingCells = Math.Max(0, missing),
            Warnings = warnings,
            CaseRows = CaseRows(suite, models, results),
        };
    }

    /// <summary>Answers in the drill-down are cut to this many characters (300 cases × 4 models stay a few MB at most).</summary>
    public const int MaxDrillDownOutput = 1000;

    private static List<CaseRow> CaseRows(EvalSuite suite, IReadOnlyList<string> models, IReadOnlyList<CellResult> results)
    {
        var order = models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i, StringComparer.Ordinal);
        var byCase = results.Where(r => order.ContainsKey(r.Model)).GroupBy(r => r.CaseId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        return [.. suite.Cases.Select(c => new CaseRow(
            c.Id,
            string.Join("\n", c.Messages.Where(m => m.Role != "system").Select(m => m.Content)),
            c.ExpectedText,
            byCase.TryGetValue(c.Id, out var cells)
                ? [.. cells.OrderBy(x => order[x.Model]).ThenBy(x => x.Sample).Select(x => new CaseCell(x.Model, x.Sample, x.Score * 100, x.Passed,
                    x.Output.Length > MaxDrillDownOutput ? x.Output[..MaxDrillDownOutput] + "…" : x.Output, x.Error, x.Grades))]
                : []))];
    }

    /// <summary>Case id → the mean score (× 100) of its samples; cases are the unit of every resampling.</summary>
    private static Dictionary<string, double> CaseScores(List<CellResult> cells) =>
        cells.GroupBy(c => c.CaseId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Average(c => c.Score) * 100, StringComparer.Ordinal);

    private static ModelSummary Summarise(string model, List<CellResult> cells, Random random)
    {
        var byCase = cells.GroupBy(c => c.CaseId, StringComparer.Ordinal).ToList();
        var scores = byCase.Select(g => g.Average(c => c.Score) * 100).ToList();
        var measured = cells.Where(c => !c.NotMeasured).ToList();
        var ok = measured.Where(c => !c.Failed).ToList();
        var priced = cells.Where(c => c.Cost is not null).ToList();
        var currencies = priced.Select(c => c.Currency).Where(c => c is not null).Distinct().ToList();
        var graderLabels = cells.SelectMany(c => c.Grades.Select(g => g.Grader)).Distinct().Order(StringComparer.Ordinal).ToList();
        // A failed call never reached the graders, and a grader that could not decide said nothing about the answer:
        // neither is in a grader's pass rate (the error rate and the grader failures report them).
        var passRates = graderLabels.ToDictionary(l => l, l =>
        {
            var graded = ok.SelectMany(c => c.Grades).Where(g => g.Grader == l && !g.GraderFailed).ToList();
            return graded.Count == 0 ? double.NaN : (double)graded.Count(g => g.Passed) / graded.Count;
        });
        var graderFailures = graderLabels
            .Select(l => (Label: l, Count: cells.Count(c => c.Grades.Any(g => g.Grader == l && g.GraderFailed))))
            .Where(x => x.Count > 0).ToDictionary(x => x.Label, x => x.Count);

        var samples = byCase.Count == 0 ? 0 : byCase.Max(g => g.Count());
        var passAtK = new Dictionary<int, double>();
        if (byCase.Count > 0)
        {
            foreach (var k in new[] { 1, samples }.Distinct())
            {
                // Cases with fewer samples than k (an interrupted run) are left out of that k.
                var perCase = byCase.Where(g => g.Count() >= k).Select(g => Statistics.PassAtK(g.Count(), g.Count(c => c.Passed), k)).ToList();
                if (perCase.Count > 0) passAtK[k] = perCase.Average();
            }
        }
        double? sampleSd = samples > 1
            ? Math.Sqrt(byCase.Where(g => g.Count() > 1).Average(g =>
            {
                var mean = g.Average(c => c.Score * 100);
                return g.Sum(c => Math.Pow(c.Score * 100 - mean, 2)) / (g.Count() - 1);
            }))
            : null;

        var attempts = measured.Sum(c => Math.Max(c.Attempts, 1));
        var failedAttempts = measured.Sum(c => c.Failed ? Math.Max(c.Attempts, 1) : Math.Max(c.Attempts, 1) - 1);
        var notMeasured = cells.Count - measured.Count;
        var problems = new List<string>();
        if (notMeasured > 0)
        {
            var reasons = cells.Where(c => c.NotMeasured).GroupBy(c => c.ErrorCode).Select(g => $"{g.Count()} {g.Key}").ToList();
            problems.Add($"{notMeasured} of {cells.Count} calls were refused by the gateway before reaching the model ({string.Join(", ", reasons)}): {cells.Where(c => c.NotMeasured).First().Error}");
        }
        foreach (var (label, count) in graderFailures)
        {
            var reason = cells.SelectMany(c => c.Grades).First(g => g.Grader == label && g.GraderFailed).Reason;
            problems.Add($"grader '{label}' failed on {count} of {cells.Count} cells ({reason}), so the quality is not the model's");
        }

        decimal? total = priced.Count == 0 ? null : priced.Sum(c => c.Cost!.Value);
        return new ModelSummary
        {
            Model = model,
            Cases = byCase.Count,
            Calls = cells.Count,
            Quality = scores.Count == 0 ? double.NaN : scores.Average(),
            QualityInterval = Statistics.BootstrapMean(scores, random),
            SampleStdDev = sampleSd,
            PassAtK = passAtK,
            PassRateByGrader = passRates,
            GraderFailures = graderFailures,
            NotMeasured = notMeasured,
            Problem = problems.Count == 0 ? null : string.Join("; ", problems) + ".",
            TotalCost = total,
            CostPer1000Requests = total is null ? null : total / priced.Count * 1000,
            Currency = currencies.Count switch { 0 => null, 1 => currencies[0], _ => "mixed" },
            PricedCalls = priced.Count,
            InputTokens = cells.Sum(c => (long)c.InputTokens),
            OutputTokens = cells.Sum(c => (long)c.OutputTokens),
            LatencyP50Ms = Statistics.Percentile(ok.Select(c => c.LatencyMs), 50),
            LatencyP95Ms = Statistics.Percentile(ok.Select(c => c.LatencyMs), 95),
            TtftP50Ms = Statistics.Percentile(ok.Where(c => c.TimeToFirstTokenMs is not null).Select(c => c.TimeToFirstTokenMs!.Value), 50),
            TtftP95Ms = Statistics.Percentile(ok.Where(c => c.TimeToFirstTokenMs is not null).Select(c => c.TimeToFirstTokenMs!.Value), 95),
            ErrorRate = measured.Count == 0 ? 0 : (double)(measured.Count - ok.Count) / measured.Count,
            CallErrorRate = attempts == 0 ? 0 : (double)failedAttempts / attempts,
        };
    }

    private static PairwiseComparison Compare(ModelSummary candidate, ModelSummary baseline,
        Dictionary<string, double> candidateCases, Dictionary<string, double> baselineCases, double margin, Random random)
    {
        var differences = candidateCases.Keys.Where(baselineCases.ContainsKey).Order(StringComparer.Ordinal)
            .Select(id => candidateCases[id] - baselineCases[id]).ToList();
        var test = Statistics.PairedTest(differences, random);
        double? costChange = candidate.CostPer1000Requests is { } c && baseline.CostPer1000Requests is { } b && b > 0
            ? (double)((c / b) - 1) * 100
            : null;
        return new PairwiseComparison
        {
            Candidate = candidate.Model,
            Baseline = baseline.Model,
            Pairs = test.Pairs,
            QualityDifference = test.MeanDifference,
            DifferenceInterval = test.Interval,
            PValue = test.PValue,
            AdjustedPValue = test.PValue,
            NonInferior = test.Interval.Low > -margin,
            CasesNeeded = differences.Count == 0 ? int.MaxValue : Statistics.CasesNeeded(differences, margin),
            CostChangePercent = costChange,
            Summary = "",
        };
    }

    /// <summary>A margin in points as reports print it (5, 2.5).</summary>
    public static string Points(double margin) => margin.ToString("0.##", Invariant);
}
