using Sanjia.Evaluation.Graders;
using Sanjia.Evaluation.Storage;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Running;

/// <summary>What to run: a suite against models, under a run id (reuse it to resume).</summary>
public sealed record CompareSpec(EvalSuite Suite, IReadOnlyList<string> Models, string RunId)
{
    public int Concurrency { get; init; } = 4;

    /// <summary>On resume, run again the cells whose model call failed (by default they count as done, in the error rate).</summary>
    public bool RetryErrors { get; init; }

    /// <summary>Times each case is sent to each model (repeated samples, for variance and pass@k).</summary>
    public int Samples { get; init; } = 1;

    /// <summary>
    /// Stop starting calls once the priced cost of this run's cells (resumed ones included) reaches this amount; calls
    /// in flight finish and are kept. In the gateway's currency; null for no cap.
    /// </summary>
    public decimal? MaxCost { get; init; }
}

/// <summary>A run's record and every stored result of it, for the models and cases of the spec.</summary>
public sealed record CompareRun(RunRecord Run, IReadOnlyList<CellResult> Results)
{
    /// <summary>The run stopped early because <see cref="CompareSpec.MaxCost"/> was reached.</summary>
    public bool CostCapReached { get; init; }

    /// <summary>What the run's cells cost (priced ones).</summary>
    public decimal Spent { get; init; }
}

/// <summary>
/// Runs suite × models with bounded concurrency, grading each answer and storing each cell as it finishes. A rerun
/// with the same run id skips stored cells. Cancelling stops new calls and abandons the ones in flight (they are
/// not stored, so the rerun does them again); the run is marked interrupted.
/// </summary>
public sealed class CompareRunner(IModelRunner runner, IEvaluationStore store, GraderRegistry graders, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<CompareRun> RunAsync(CompareSpec spec, ICompareProgress? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Validate(spec);
        // Build every grader before the first call: a bad setting in case 20 must not cost 19 cases of calls.
        var caseGraders = spec.Suite.Cases.ToDictionary(c => c.Id, c => c.Graders.Select(g => (Spec: g, Grader: graders.Create(g, c))).ToList());

        var run = await store.GetRunAsync(spec.RunId, cancellationToken).ConfigureAwait(false);
        if (run is not null && run.SuiteFingerprint != spec.Suite.Fingerprint)
        {
            throw new InvalidOperationException(
                $"Run '{spec.RunId}' was made with a different suite ('{run.SuiteName}', fingerprint {run.SuiteFingerprint}); resume it with the same suite file or use a new run id.");
        }
        var models = run is null ? spec.Models : [.. run.Models.Union(spec.Models, StringComparer.Ordinal)];
        run = new RunRecord(spec.RunId, spec.Suite.Name, spec.Suite.Fingerprint, models, RunRecord.Running, run?.CreatedAt ?? _time.GetUtcNow());
        await store.SaveRunAsync(run, cancellationToken).ConfigureAwait(false);

        var stored = await store.GetResultsAsync(spec.RunId, cancellationToken).ConfigureAwait(false);
        var done = stored.Where(r => !(spec.RetryErrors && r.Failed)).Select(r => (r.CaseId, r.Model, r.Sample)).ToHashSet();
        // Case-major order: an interrupted run has every model on the same first cases, so a partial report is fair.
        var cells = spec.Suite.Cases.SelectMany(c => Enumerable.Range(0, spec.Samples).SelectMany(k => spec.Models.Select(m => (Case: c, Model: m, Sample: k)))).ToList();
        var wanted = cells.Select(c => (c.Case.Id, c.Model, c.Sample)).ToHashSet();
        var todo = cells.Where(cell => !done.Contains((cell.Case.Id, cell.Model, cell.Sample))).ToList();
        var completed = cells.Count - todo.Count;
        progress?.Started(cells.Count, completed);

        // The cap counts what this run has already spent (a resumed run does not start from zero).
        var spendGate = new Lock();
        var spent = stored.Where(r => wanted.Contains((r.CaseId, r.Model, r.Sample)) && !(spec.RetryErrors && r.Failed)).Sum(r => r.Cost ?? 0);
        var capReached = spec.MaxCost is { } cap0 && spent >= cap0;
        try
        {
            await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = spec.Concurrency, CancellationToken = cancellationToken }, async (cell, ct) =>
            {
                lock (spendGate)
                {
                    if (capReached) return;
                }
                var result = await RunCellAsync(spec.Suite, cell.Case, cell.Model, cell.Sample, caseGraders[cell.Case.Id], ct).ConfigureAwait(false);
                await store.SaveResultAsync(spec.RunId, result, CancellationToken.None).ConfigureAwait(false);
                if (spec.MaxCost is { } cap && result.Cost is { } cost)
                {
                    lock (spendGate)
                    {
                        spent += cost;
                        if (spent >= cap) capReached = true;
                    }
                }
                progress?.CellCompleted(result, Interlocked.Increment(ref completed), cells.Count);
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await store.SaveRunAsync(run with { Status = RunRecord.Interrupted }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        var results = (await store.GetResultsAsync(spec.RunId, cancellationToken).ConfigureAwait(false))
            .Where(r => wanted.Contains((r.CaseId, r.Model, r.Sample))).ToList();
        // A capped run is resumable like an interrupted one (with a higher cap or none).
        run = run with { Status = results.Count < cells.Count ? RunRecord.Interrupted : RunRecord.Completed };
        await store.SaveRunAsync(run, cancellationToken).ConfigureAwait(false);
        return new CompareRun(run, results) { CostCapReached = capReached && results.Count < cells.Count, Spent = results.Sum(r => r.Cost ?? 0) };
    }

    /// <summary>The models the suite's graders call (judge and embedding models), to validate before a run.</summary>
    public static IReadOnlyList<string> GraderModels(EvalSuite suite, GraderRegistry graders)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(graders);
        return [.. suite.Cases.SelectMany(c => c.Graders.Select(g => graders.Create(g, c))).OfType<ICallsModels>()
            .SelectMany(g => g.Models).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private async Task<CellResult> RunCellAsync(EvalSuite suite, EvalCase c, string model, int sample, List<(GraderSpec Spec, IGrader Grader)> caseGraders, CancellationToken ct)
    {
        var call = await runner.ChatAsync(new ModelRequest(model, c.Messages, suite.RequestDefaults), ct).ConfigureAwait(false);
        var result = new CellResult
        {
            CaseId = c.Id,
            Model = model,
            Sample = sample,
            Output = call.Text.Length > CellResult.MaxStoredOutput ? call.Text[..CellResult.MaxStoredOutput] : call.Text,
            InputTokens = call.InputTokens,
            OutputTokens = call.OutputTokens,
            LatencyMs = call.LatencyMs,
            TimeToFirstTokenMs = call.TimeToFirstTokenMs,
            Cost = call.Cost,
            Currency = call.Currency,
            Deployment = call.Deployment,
            ErrorStatus = call.ErrorStatus,
            ErrorCode = call.ErrorCode,
            Error = call.Error,
            Attempts = call.Attempts,
        };
        if (call.Failed) return result with { CompletedAt = _time.GetUtcNow() };

        var outcomes = new List<GraderOutcome>();
        double weighted = 0, weights = 0;
        var context = new GradeContext(c, call.Text, runner);
        foreach (var (spec, grader) in caseGraders)
        {
            Grade grade;
            try
            {
                grade = await grader.GradeAsync(context, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                grade = Grade.Broken($"{e.GetType().Name}: {e.Message}");
            }
            var score = Math.Clamp(double.IsFinite(grade.Score) ? grade.Score : 0, 0, 1);
            outcomes.Add(new GraderOutcome(spec.Label, score, grade.Passed, grade.Reason, grade.GraderFailed));
            weighted += score * spec.Weight;
            weights += spec.Weight;
        }
        return result with { Grades = outcomes, Score = weights > 0 ? weighted / weights : 0, CompletedAt = _time.GetUtcNow() };
    }

    private static void Validate(CompareSpec spec)
    {
        if (spec.Models.Count == 0) throw new ArgumentException("Give at least one model.", nameof(spec));
        if (spec.Models.Distinct(StringComparer.Ordinal).Count() != spec.Models.Count) throw new ArgumentException("A model is listed twice.", nameof(spec));
        if (string.IsNullOrWhiteSpace(spec.RunId)) throw new ArgumentException("The run id is empty.", nameof(spec));
        if (spec.Concurrency is < 1 or > 256) throw new ArgumentException("Concurrency must be between 1 and 256.", nameof(spec));
        if (spec.Samples is < 1 or > 100) throw new ArgumentException("Samples must be between 1 and 100.", nameof(spec));
        if (spec.MaxCost is <= 0) throw new ArgumentException("The cost cap must be above zero.", nameof(spec));
    }
}
