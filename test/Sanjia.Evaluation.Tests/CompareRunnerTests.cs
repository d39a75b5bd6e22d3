using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Graders;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Storage;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Tests;

public sealed class CompareRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-eval-").FullName;

    private static EvalSuite Suite(int n) => SuiteLoader.FromYaml($$"""
        name: echo
        graders: [contains]
        cases:
        {{string.Join("\n", Enumerable.Range(1, n).Select(i => $"  - {{ id: c{i}, prompt: 'say {i}', expected: 'ok{i}' }}"))}}
        """);

    private sealed class Progress : ICompareProgress
    {
        public int Total, AlreadyDone, Completed;

        public void Started(int totalCells, int alreadyDone) => (Total, AlreadyDone) = (totalCells, alreadyDone);

        public void CellCompleted(CellResult result, int done, int totalCells) => Interlocked.Increment(ref Completed);
    }

    [Fact]
    public async Task Grades_every_cell_with_bounded_concurrency()
    {
        var inFlight = 0;
        var maxInFlight = 0;
        var runner = new ScriptedRunner(r => ScriptedRunner.Text(r, r.Model == "good" ? "ok" + r.Messages[0].Content[4..] : "nope"))
        {
            Before = async (_, ct) =>
            {
                var now = Interlocked.Increment(ref inFlight);
                InterlockedMax(ref maxInFlight, now);
                await Task.Delay(10, ct);
                Interlocked.Decrement(ref inFlight);
            },
        };
        using var store = new SqliteEvaluationStore(Path.Combine(_dir, "e.db"));
        var progress = new Progress();
        var run = await new CompareRunner(runner, store, new GraderRegistry()).RunAsync(
            new CompareSpec(Suite(12), ["good", "bad"], "r1") { Concurrency = 3 }, progress, default);

        Assert.Equal(24, run.Results.Count);
        Assert.All(run.Results.Where(r => r.Model == "good"), r => Assert.Equal(1, r.Score));
        Assert.All(run.Results.Where(r => r.Model == "bad"), r => Assert.Equal(0, r.Score));
        Assert.InRange(maxInFlight, 1, 3);
        Assert.Equal((24, 0, 24), (progress.Total, progress.AlreadyDone, progress.Completed));
        Assert.Equal(RunRecord.Completed, run.Run.Status);
    }

    [Fact]
    public async Task An_interrupted_run_resumes_with_only_the_missing_cells()
    {
        var dbPath = Path.Combine(_dir, "e.db");
        var suite = Suite(10);
        using var cts = new CancellationTokenSource();
        var answered = 0;
        var first = new ScriptedRunner(r => ScriptedRunner.Text(r, "ok"))
        {
            Before = async (_, ct) =>
            {
                // The 7th call and later hang until cancelled, as a killed run would.
                if (Interlocked.Increment(ref answered) >= 7)
                {
                    await cts.CancelAsync();
                    await Task.Delay(Timeout.Infinite, ct);
                }
            },
        };
        using (var store = new SqliteEvaluationStore(dbPath))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                new CompareRunner(first, store, new GraderRegistry()).RunAsync(new CompareSpec(suite, ["a", "b"], "resume") { Concurrency = 2 }, null, cts.Token));
            Assert.Equal(RunRecord.Interrupted, (await store.GetRunAsync("resume", default))!.Status);
        }

        using var reopened = new SqliteEvaluationStore(dbPath);
        var stored = (await reopened.GetResultsAsync("resume", default)).Select(r => (r.CaseId, r.Model)).ToHashSet();
        Assert.InRange(stored.Count, 1, 19);

        var second = new ScriptedRunner(r => ScriptedRunner.Text(r, "ok"));
        var progress = new Progress();
        var run = await new CompareRunner(second, reopened, new GraderRegistry()).RunAsync(new CompareSpec(suite, ["a", "b"], "resume"), progress, default);

        Assert.Equal(20, run.Results.Count);
        Assert.Equal(20 - stored.Count, second.Calls.Count);
        Assert.DoesNotContain(second.Calls, c => stored.Contains((suite.Cases.Single(x => x.Messages[0].Content == c.Messages[0].Content).Id, c.Model)));
        Assert.Equal(stored.Count, progress.AlreadyDone);
        Assert.Equal(RunRecord.Completed, run.Run.Status);
    }

    [Fact]
    public async Task Resuming_with_a_changed_suite_is_refused()
    {
        using var store = new SqliteEvaluationStore(Path.Combine(_dir, "e.db"));
        var runner = new ScriptedRunner(r => ScriptedRunner.Text(r, "ok"));
        await new CompareRunner(runner, store, new GraderRegistry()).RunAsync(new CompareSpec(Suite(2), ["a"], "x"), null, default);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new CompareRunner(runner, store, new GraderRegistry()).RunAsync(new CompareSpec(Suite(3), ["a"], "x"), null, default));
        Assert.Contains("different suite", e.Message);
    }

    [Fact]
    public async Task Failed_calls_are_stored_as_errors_and_retried_only_on_request()
    {
        using var store = new SqliteEvaluationStore(Path.Combine(_dir, "e.db"));
        var failing = new ScriptedRunner(r => new ModelCall { Model = r.Model, ErrorStatus = 429, Error = "budget exceeded" });
        var run = await new CompareRunner(failing, store, new GraderRegistry()).RunAsync(new CompareSpec(Suite(3), ["a"], "e"), null, default);
        Assert.All(run.Results, r => Assert.Equal("budget exceeded", r.Error));

        var working = new ScriptedRunner(r => ScriptedRunner.Text(r, "ok"));
        await new CompareRunner(working, store, new GraderRegistry()).RunAsync(new CompareSpec(Suite(3), ["a"], "e"), null, default);
        Assert.Empty(working.Calls);
        run = await new CompareRunner(working, store, new GraderRegistry()).RunAsync(new CompareSpec(Suite(3), ["a"], "e") { RetryErrors = true }, null, default);
        Assert.Equal(3, working.Calls.Count);
        Assert.All(run.Results, r => Assert.Null(r.Error));
    }

    [Fact]
    public async Task The_cost_cap_stops_the_run_and_a_resume_with_a_higher_cap_finishes_it()
    {
        using var store = new SqliteEvaluationStore(Path.Combine(_dir, "e.db"));
        var runner = new ScriptedRunner(r => ScriptedRunner.Text(r, "ok") with { Cost = 0.25m, Currency = "USD" });
        var run = await new CompareRunner(runner, store, new GraderRegistry()).RunAsync(
            new CompareSpec(Suite(10), ["a", "b"], "cap") { Concurrency = 1, MaxCost = 1m }, null, default);
        Assert.True(run.CostCapReached);
        Assert.Equal(4, runner.Calls.Count); // 4 × 0.25 reaches 1.00; nothing is started after that
        Assert.Equal(1m, run.Spent);
        Assert.Equal(RunRecord.Interrupted, run.Run.Status);

        var report = ReportBuilder.Build("cap", Suite(10), ["a", "b"], "a", run.Results);
        Assert.Equal(16, report.MissingCells);

        run = await new CompareRunner(runner, store, new GraderRegistry()).RunAsync(
            new CompareSpec(Suite(10), ["a", "b"], "cap") { Concurrency = 2, MaxCost = 100m }, null, default);
        Assert.False(run.CostCapReached);
        Assert.Equal(20, run.Results.Count);
        Assert.Equal(20, runner.Calls.Count);
        Assert.Equal(RunRecord.Completed, run.Run.Status);
    }

    [Fact]
    public async Task Repeated_samples_are_stored_per_sample_and_give_variance_and_pass_at_k()
    {
        using var store = new SqliteEvaluationStore(Path.Combine(_dir, "e.db"));
        // "coin" answers right on every other call of the same case; "sure" always.
        var calls = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var runner = new ScriptedRunner(r =>
        {
            var n = calls.AddOrUpdate(r.Model + r.Messages[0].Content, 1, (_, v) => v + 1);
            return ScriptedRunner.Text(r, r.Model == "sure" || n % 2 == 1 ? "ok" + r.Messages[0].Content[4..] : "no");
        });
        var run = await new CompareRunner(runner, store, new GraderRegistry()).RunAsync(
            new CompareSpec(Suite(6), ["sure", "coin"], "k") { Concurrency = 1, Samples = 4 }, null, default);
        Assert.Equal(48, run.Results.Count);
        Assert.Equal([0, 1, 2, 3], run.Results.Where(r => r.CaseId == "c1" && r.Model == "coin").Select(r => r.Sample).Order());

        var report = ReportBuilder.Build("k", Suite(6), ["sure", "coin"], "sure", run.Results, new ReportSettings { Samples = 4 });
        var coin = report.Models.Single(m => m.Model == "coin");
        Assert.Equal(6, coin.Cases);
        Assert.Equal(24, coin.Calls);
        Assert.Equal(50, coin.Quality, 9);
        Assert.Equal(0.5, coin.PassAtK[1], 9);
        Assert.Equal(1, coin.PassAtK[4], 9);
        Assert.Equal(Math.Sqrt(100.0 * 100 / 3), coin.SampleStdDev!.Value, 6); // scores 100, 0, 100, 0: variance 3333.3
        Assert.Equal(0, report.MissingCells);
        Assert.Equal(6, report.Comparisons[0].Pairs); // bootstrapped by case, not by call
    }

    [Fact]
    public async Task A_database_of_the_previous_layout_is_read_as_sample_zero()
    {
        var path = Path.Combine(_dir, "old.db");
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE eval_runs (run_id TEXT PRIMARY KEY, suite_name TEXT NOT NULL, suite_fingerprint TEXT NOT NULL, models TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL);
                CREATE TABLE eval_results (run_id TEXT NOT NULL, case_id TEXT NOT NULL, model TEXT NOT NULL, score REAL NOT NULL, failed INTEGER NOT NULL, result TEXT NOT NULL, PRIMARY KEY (run_id, case_id, model));
                INSERT INTO eval_results VALUES ('old', 'c1', 'a', 1, 0, '{"caseId":"c1","model":"a","score":1,"output":"ok1"}');
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = new SqliteEvaluationStore(path);
        var cell = Assert.Single(await store.GetResultsAsync("old", default));
        Assert.Equal(("c1", "a", 0, 1.0), (cell.CaseId, cell.Model, cell.Sample, cell.Score));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
