using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Reports;

/// <summary>Turns stored cell results into a <see cref="ComparisonReport"/>. Deterministic for a given seed.</summary>
public static class ReportBuilder
{
    public const int DefaultSeed = 20240601;

    /// <summary>A difference is called significant only when p &lt; this and the interval excludes zero.</summary>
    public const double Alpha = 0.05;

    public static ComparisonReport Build(string runId, EvalSuite suite, IReadOnlyList<string> models, string baseline,
        IReadOnlyList<CellResult> results, int seed = DefaultSeed, TimeProvider? time = null)
    {
        if (!models.Contains(baseline, StringComparer.Ordinal)) throw new ArgumentException($"The baseline '{baseline}' is not one of the models compared.", nameof(baseline));
        var byModel = models.ToDictionary(m => m, m => results.Where(r => r.Model == m).ToDictionary(r => r.CaseId), StringComparer.Ordinal);
        // One random source per purpose and model keeps each number independent of the others' order.
        var summaries = models.Select((m, i) => Summarise(m, byModel[m].Values.ToList(), new Random(seed + i))).ToList();

        var front = ParetoFront.Find(summaries.Where(s => s.CostPer1000Requests is not null)
            .Select(s => (s.Model, (double)s.CostPer1000Requests!.Value, s.Quality)));
        summaries = [.. summaries.Select(s => s with { OnParetoFront = front.Contains(s.Model) })];

        var baseSummary = summaries.Single(s => s.Model == baseline);
        var comparisons = summaries.Where(s => s.Model != baseline)
            .Select((s, i) => Compare(s, baseSummary, byModel[s.Model], byModel[baseline], new Random(seed + 1000 + i)))
            .ToList();
        var missing = suite.Cases.Count * models.Count - byModel.Values.Sum(d => d.Count);
        return new ComparisonReport
        {
            RunId = runId,
            Suite = suite.Name,
            Baseline = baseline,
            Cases = suite.Cases.Count,
            Seed = seed,
            GeneratedAt = (time ?? TimeProvider.System).GetUtcNow(),
            Models = summaries,
            Comparisons = comparisons,
            ParetoFront = front,
            Recommendation = Recommender.Recommend(baseSummary, summaries, comparisons),
            MissingCells = missing,
        };
    }

    private static ModelSummary Summarise(string model, List<CellResult> cells, Random random)
    {
        var scores = cells.Select(c => c.Score * 100).ToList();
        var ok = cells.Where(c => !c.Failed).ToList();
        var priced = cells.Where(c => c.Cost is not null).ToList();
        var currencies = priced.Select(c => c.Currency).Where(c => c is not null).Distinct().ToList();
        var graderLabels = cells.SelectMany(c => c.Grades.Select(g => g.Grader)).Distinct().Order(StringComparer.Ordinal);
        var passRates = graderLabels.ToDictionary(l => l, l =>
        {
            // A failed call never reached the grader, but it is still a case the model did not pass.
            var graded = cells.Where(c => c.Failed || c.Grades.Any(g => g.Grader == l)).ToList();
            return graded.Count == 0 ? 0 : (double)graded.Count(c => c.Grades.Any(g => g.Grader == l && g.Passed)) / graded.Count;
        });
        decimal? total = priced.Count == 0 ? null : priced.Sum(c => c.Cost!.Value);
        return new ModelSummary
        {
            Model = model,
            Cases = cells.Count,
            Quality = cells.Count == 0 ? double.NaN : scores.Average(),
            QualityInterval = Statistics.BootstrapMean(scores, random),
            PassRateByGrader = passRates,
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
            ErrorRate = cells.Count == 0 ? 0 : (double)(cells.Count - ok.Count) / cells.Count,
        };
    }

    private static PairwiseComparison Compare(ModelSummary candidate, ModelSummary baseline,
        Dictionary<string, CellResult> candidateCells, Dictionary<string, CellResult> baselineCells, Random random)
    {
        var differences = candidateCells.Keys.Where(baselineCells.ContainsKey).Order(StringComparer.Ordinal)
            .Select(id => (candidateCells[id].Score - baselineCells[id].Score) * 100).ToList();
        var test = Statistics.PairedTest(differences, random);
        var significant = test.PValue < Alpha && !test.Interval.Contains(0);
        var verdict = !significant ? Verdict.NoSignificantDifference
            : test.MeanDifference > 0 ? Verdict.SignificantlyBetter : Verdict.SignificantlyWorse;
        double? costChange = candidate.CostPer1000Requests is { } c && baseline.CostPer1000Requests is { } b && b > 0
            ? (double)((c / b) - 1) * 100
            : null;
        var comparison = new PairwiseComparison
        {
            Candidate = candidate.Model,
            Baseline = baseline.Model,
            Pairs = test.Pairs,
            QualityDifference = test.MeanDifference,
            DifferenceInterval = test.Interval,
            PValue = test.PValue,
            Verdict = verdict,
            CostChangePercent = costChange,
            Summary = "",
        };
        return comparison with { Summary = Recommender.Describe(comparison, candidate, baseline) };
    }
}
