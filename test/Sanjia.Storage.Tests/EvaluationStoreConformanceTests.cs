using System.Text.Json;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Storage;

namespace Sanjia.Storage.Tests;

/// <summary>
/// What every store of compare runs must do: a run's row replaced on resume (models, status) but not its creation,
/// cells kept whole per (run, case, model, sample), a cell stored again replaced in place, runs listed oldest first.
/// </summary>
public abstract class EvaluationStoreConformanceTests : IAsyncLifetime
{
    protected abstract Task<IEvaluationStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public abstract Task DisposeAsync();

    // Microseconds at most: PostgreSQL keeps no finer (decision 0005).
    private static readonly DateTimeOffset T0 = new(2026, 3, 4, 5, 6, 7, 891, TimeSpan.Zero);

    private static CellResult Cell(string caseId, string model, int sample, double score, string? error = null) => new()
    {
        CaseId = caseId, Model = model, Sample = sample, Score = score, Output = "答案: 42", InputTokens = 12, OutputTokens = 3,
        LatencyMs = 812.25, TimeToFirstTokenMs = 120.5, Cost = 0.0000123m, Currency = "USD", Deployment = "openai/gpt-4o-mini",
        ErrorStatus = error is null ? null : 429, ErrorCode = error is null ? null : "budget_exceeded", Error = error,
        Grades = [new GraderOutcome("contains", score, score > 0.5, "found", false)],
    };

    private static string Json(object o) => JsonSerializer.Serialize(o);

    [SkippableFact]
    public async Task A_run_reads_back_whole_and_a_resume_replaces_its_models_and_status_but_not_its_creation()
    {
        var store = await OpenAsync();
        Assert.Null(await store.GetRunAsync("r1", CancellationToken.None));
        await store.SaveRunAsync(new RunRecord("r1", "suite", "fp1", ["a", "b"], RunRecord.Running, T0), CancellationToken.None);
        var first = (await store.GetRunAsync("r1", CancellationToken.None))!;
        Assert.Equal(("r1", "suite", "fp1", RunRecord.Running, T0), (first.RunId, first.SuiteName, first.SuiteFingerprint, first.Status, first.CreatedAt));
        Assert.Equal(["a", "b"], first.Models);

        await store.SaveRunAsync(new RunRecord("r1", "suite", "fp1", ["a", "b", "c"], RunRecord.Completed, T0.AddHours(1)), CancellationToken.None);
        var resumed = (await store.GetRunAsync("r1", CancellationToken.None))!;
        Assert.Equal((RunRecord.Completed, T0), (resumed.Status, resumed.CreatedAt));
        Assert.Equal(["a", "b", "c"], resumed.Models);
    }

    [SkippableFact]
    public async Task Runs_are_listed_oldest_first()
    {
        var store = await OpenAsync();
        Assert.Empty(await store.ListRunsAsync(CancellationToken.None));
        await store.SaveRunAsync(new RunRecord("late", "s", "f", ["a"], RunRecord.Running, T0.AddMinutes(5)), CancellationToken.None);
        await store.SaveRunAsync(new RunRecord("early", "s", "f", ["a"], RunRecord.Failed, T0), CancellationToken.None);
        await store.SaveRunAsync(new RunRecord("b-same", "s", "f", ["a"], RunRecord.Interrupted, T0.AddMinutes(1)), CancellationToken.None);
        await store.SaveRunAsync(new RunRecord("a-same", "s", "f", ["a"], RunRecord.Completed, T0.AddMinutes(1)), CancellationToken.None);
        var runs = await store.ListRunsAsync(CancellationToken.None);
        Assert.Equal(["early", "a-same", "b-same", "late"], runs.Select(r => r.RunId));
        Assert.Equal((RunRecord.Failed, T0), (runs[0].Status, runs[0].CreatedAt));
    }

    [SkippableFact]
    public async Task Cells_read_back_whole_per_run_in_first_stored_order_and_a_cell_stored_again_is_replaced_in_place()
    {
        var store = await OpenAsync();
        await store.SaveRunAsync(new RunRecord("r1", "s", "f", ["a", "b"], RunRecord.Running, T0), CancellationToken.None);
        await store.SaveRunAsync(new RunRecord("r2", "s", "f", ["a"], RunRecord.Running, T0), CancellationToken.None);
        await store.SaveResultAsync("r1", Cell("c2", "a", 0, 1), CancellationToken.None);
        await store.SaveResultAsync("r1", Cell("c1", "b", 0, 0, "over budget"), CancellationToken.None);
        await store.SaveResultAsync("r2", Cell("c1", "a", 0, 1), CancellationToken.None);
        await store.SaveResultAsync("r1", Cell("c1", "b", 1, 0.25), CancellationToken.None);
        // A retried failure: same (run, case, model, sample), stored again; it keeps its place.
        await store.SaveResultAsync("r1", Cell("c1", "b", 0, 0.75), CancellationToken.None);

        var cells = await store.GetResultsAsync("r1", CancellationToken.None);
        Assert.Equal([("c2", "a", 0), ("c1", "b", 0), ("c1", "b", 1)], cells.Select(c => (c.CaseId, c.Model, c.Sample)));
        Assert.Equal(Json(Cell("c2", "a", 0, 1)), Json(cells[0]));
        Assert.Equal(Json(Cell("c1", "b", 0, 0.75)), Json(cells[1]));
        Assert.False(cells[1].Failed);
        Assert.Single(await store.GetResultsAsync("r2", CancellationToken.None));
        Assert.Empty(await store.GetResultsAsync("none", CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_failed_cell_keeps_its_error()
    {
        var store = await OpenAsync();
        await store.SaveRunAsync(new RunRecord("r1", "s", "f", ["a"], RunRecord.Running, T0), CancellationToken.None);
        await store.SaveResultAsync("r1", Cell("c1", "a", 0, 0, "over budget"), CancellationToken.None);
        var cell = Assert.Single(await store.GetResultsAsync("r1", CancellationToken.None));
        Assert.True(cell.Failed);
        Assert.Equal((429, "budget_exceeded", "over budget"), (cell.ErrorStatus, cell.ErrorCode, cell.Error));
        Assert.Equal(Json(Cell("c1", "a", 0, 0, "over budget")), Json(cell));
    }
}

public sealed class SqliteEvaluationStoreConformanceTests : EvaluationStoreConformanceTests
{
    private readonly SqliteBackend _backend = new();

    protected override Task<IEvaluationStore> OpenAsync() =>
        Task.FromResult<IEvaluationStore>(_backend.Open(p => new SqliteEvaluationStore(p), SqliteEvaluationStore.DefaultFileName));

    public override Task DisposeAsync()
    {
        _backend.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresEvaluationStoreConformanceTests(PostgresDatabaseFixture db) : EvaluationStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IEvaluationStore> OpenAsync() => new Postgres.PostgresEvaluationStore(await _backend.DatabaseAsync());

    public override Task DisposeAsync() => _backend.DisposeAsync().AsTask();
}
