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
