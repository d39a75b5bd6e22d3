using Sanjia.Abstractions;

namespace Sanjia.Storage.Tests;

/// <summary>
/// What every ledger store must do (in the manner of Microsoft.Extensions.AI's abstract conformance suites): each
/// store has a subclass that only says how to open it. Covers every column and its nulls, insertion order, the
/// insert-once key (request, attempt, endpoint) that makes journal replay idempotent, exact decimal spend, and ranges.
/// </summary>
public abstract class LedgerStoreConformanceTests : IAsyncLifetime
{
    private ILedgerStore? _ledger;

    /// <summary>Opens an empty store; the same object must serve as both interfaces, as the gateway registers it.</summary>
    protected abstract Task<ILedgerStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => _ledger is IDisposable d ? Task.Run(d.Dispose) : Task.CompletedTask;

    private async Task<(ILedgerStore Ledger, ISpendSource Spend)> StoreAsync()
    {
        _ledger = await OpenAsync();
        return (_ledger, Assert.IsAssignableFrom<ISpendSource>(_ledger));
    }

    // Whole microseconds: PostgreSQL keeps timestamps to the microsecond (docs/decisions/0005-schema-migrations.md).
    protected static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 11, 28, 9, 30, 15, 123, TimeSpan.Zero).AddTicks(4560);

    protected static LedgerEntry Full(string id, int attempt = 1) => new()
    {
        RequestId = id,
        Attempt = attempt,
        Timestamp = T0,
        KeyId = "key-ä1",
        TeamId = "team-研发",
        Endpoint = "/v1/chat/completions",
        Model = "fast",
        Deployment = "openai/gpt-4o-mini",
        Provider = "openai",
        Usage = new TokenUsage(Input: 1200, Output: 340, CachedInput: 1000, Reasoning: 120, Estimated: true, CacheWrite: 150),
        Status = 200,
        LatencyMs = 812.25,
        TimeToFirstTokenMs = 95.5,
        Stream = true,
        Cost = 0.000123456789m,
        Currency = "USD",
    };

    /// <summary>A response-cache hit: zero cost, what it saved, and the request whose answer it served.</summary>
    protected static LedgerEntry Hit(string id, string original) => Full(id) with
    {
        Deployment = null,
        Provider = null,
        Cost = 0m,
        CostSaved = 0.000987654321m,
        CacheOf = original,
    };

    protected static LedgerEntry Sparse(string id) => new()
    {
        RequestId = id,
        Timestamp = T0.AddSeconds(1),
        Endpoint = "/v1/messages",
        Model = "no-such-model",
        Status = 404,
        ErrorCode = "model_not_found",
        LatencyMs = 0.5,
    };

    [SkippableFact]
    public async Task Every_column_reads_back_as_written_including_nulls()
    {
        var (ledger, spend) = await StoreAsync();
        await ledger.AppendAsync([Full("req-1"), Sparse("req-2")], CancellationToken.None);

        var rows = await ledger.ReadAsync(T0.AddMinutes(-1), 10, CancellationToken.None);
        Assert.Equal([Full("req-1"), Sparse("req-2")], rows);
        Assert.Equal(T0, rows[0].Timestamp);
        Assert.Equal(TimeSpan.Zero, rows[0].Timestamp.Offset);
        Assert.Equal(rows, await spend.ReadRangeAsync(T0, T0.AddSeconds(2), CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_cache_hit_row_keeps_its_zero_cost_what_it_saved_and_the_request_it_answered_from()
    {
        var (ledger, spend) = await StoreAsync();
        await ledger.AppendAsync([Full("req-1"), Hit("req-2", original: "req-1")], CancellationToken.None);

        var rows = await ledger.ReadAsync(T0.AddMinutes(-1), 10, CancellationToken.None);
        Assert.Equal([Full("req-1"), Hit("req-2", "req-1")], rows);
        Assert.Equal(("req-1", 0m, 0.000987654321m, 150), (rows[1].CacheOf, rows[1].Cost, rows[1].CostSaved, rows[1].Usage.CacheWrite));
        // Budgets add up what was charged: the hit's zero, not what it saved.
        Assert.Equal(Full("x").Cost, await spend.SpentSinceAsync("key", "key-ä1", "USD", T0.AddMinutes(-1), CancellationToken.None));
    }

    [SkippableFact]
    public async Task Guardrail_decisions_and_image_counts_read_back_and_the_request_log_filters_by_rule()
    {
        var (ledger, _) = await StoreAsync();
        // A policy name with the column's separators in it: written escaped, read back whole.
        var decisions = new GuardrailDecision[]
        {
            new(GuardrailDecision.Input, "pii.cn_resident_id", "redact", "pii-redact"),
            new(GuardrailDecision.Input, "injection.heuristic", "log", "zh,50%"),
            new(GuardrailDecision.Output, "pii.email", "mask", "pii-redact"),
        };
        var guarded = Full("req-g") with { Guardrails = GuardrailDecision.Format(decisions) };
        var blocked = Sparse("req-b") with { Status = 400, ErrorCode = "guardrail_blocked", Guardrails = GuardrailDecision.Format([new(GuardrailDecision.Input, "pii.cn_mobile", "block", "strict")]) };
        var image = Full("req-i") with { Endpoint = "/v1/images/generations", Images = 3, Stream = false };
        var failedImage = Sparse("req-j") with { Endpoint = "/v1/images/generations", Images = 0 };
        await ledger.AppendAsync([guarded, blocked, image, failedImage, Full("req-plain")], CancellationToken.None);

        var rows = await ledger.ReadAsync(T0.AddMinutes(-1), 10, CancellationToken.None);
        Assert.Equal([guarded, blocked, image, failedImage, Full("req-plain")], rows);
        Assert.Equal(decisions, GuardrailDecision.Parse(rows[0].Guardrails));
        Assert.Equal([(int?)null, null, 3, 0, null], rows.Select(r => r.Images));

        var query = Assert.IsAssignableFrom<ILedgerQuery>(ledger);
        async Task<string[]> Ids(string guardrail) =>
            [.. (await query.QueryAsync(new LedgerFilter { Guardrail = guardrail }, CancellationToken.None)).Select(r => r.Entry.RequestId)];
        Assert.Equal(["req-b", "req-g"], await Ids("any"));
        Assert.Equal(["req-g"], await Ids("pii.email")); // on the answer
        Assert.Equal(["req-b"], await Ids("pii.cn_mobile"));
        Assert.Empty(await Ids("pii.cn")); // a rule id matches whole, never a prefix
        Assert.Empty(await Ids("redact")); // nor an action
        Assert.Empty(await Ids("pii.cn_mobil_")); // '_' is no wildcard
    }

    [SkippableFact]
    public async Task Evaluation_rows_read_back_marked_and_other_rows_unmarked()
    {
        var (ledger, _) = await StoreAsync();
        var evaluation = Full("req-e") with { Evaluation = true };
        var failedEvaluation = Sparse("req-f") with { Status = 502, ErrorCode = "upstream_error", Evaluation = true };
        await ledger.AppendAsync([evaluation, Full("req-p"), failedEvaluation], CancellationToken.None);

        var rows = await ledger.ReadAsync(T0.AddMinutes(-1), 10, CancellationToken.None);
        Assert.Equal([evaluation, Full("req-p"), failedEvaluation], rows);
        Assert.Equal([true, false, true], rows.Select(r => r.Evaluation));
        var query = Assert.IsAssignableFrom<ILedgerQuery>(ledger);
        var listed = await query.QueryAsync(new LedgerFilter(), CancellationToken.None);
        Assert.Equal([("req-f", true), ("req-p", false), ("req-e", true)], listed.Select(r => (r.Entry.RequestId, r.Entry.Evaluation)));
        async Task<string[]> Ids(bool evaluation) =>
            [.. (await query.QueryAsync(new LedgerFilter { Evaluation = evaluation }, CancellationToken.None)).Select(r => r.Entry.RequestId)];
        Assert.Equal(["req-f", "req-e"], await Ids(true));
        Assert.Equal(["req-p"], await Ids(false));
    }

    [SkippableFact]
    public async Task A_replayed_or_repeated_row_is_stored_once_and_other_attempts_and_endpoints_are_rows_of_their_own()
    {
        var (ledger, _) = await StoreAsync();
        await ledger.AppendAsync([Full("req-1"), Full("req-1", attempt: 2)], CancellationToken.None);
        // The journal replayed after a kill: the same rows again, one of them twice in the batch, plus a new one.
        await ledger.AppendAsync([Full("req-1"), Full("req-1"), Full("req-1", attempt: 2) with { Status = 500 }, Full("req-2")], CancellationToken.None);
        await ledger.AppendAsync([Full("req-1") with { Endpoint = "/v1/embeddings" }], CancellationToken.None);

        var rows = await ledger.ReadAsync(T0.AddMinutes(-1), 100, CancellationToken.None);
        Assert.Equal(
            [("req-1", 1, "/v1/chat/completions", 200), ("req-1", 2, "/v1/chat/completions", 200), ("req-2", 1, "/v1/chat/completions", 200), ("req-1", 1, "/v1/embeddings", 200)],
            rows.Select(r => (r.RequestId, r.Attempt, r.Endpoint, r.Status)));
    }

    [SkippableFact]
    public async Task Rows_read_back_in_the_order_written_from_a_time_on_up_to_the_limit()
    {
        var (ledger, _) = await StoreAsync();
        // Later batches carry earlier timestamps: the order is the order written, not the timestamps'.
        await ledger.AppendAsync([.. Enumerable.Range(0, 5).Select(i => Sparse($"a{i}") with { Timestamp = T0.AddSeconds(10 - i) })], CancellationToken.None);
        await ledger.AppendAsync([.. Enumerable.Range(0, 5).Select(i => Sparse($"b{i}") with { Timestamp = T0.AddSeconds(i) })], CancellationToken.None);

        var all = await ledger.ReadAsync(T0, 100, CancellationToken.None);
        Assert.Equal(["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"], all.Select(r => r.RequestId));
        var limited = await ledger.ReadAsync(T0.AddSeconds(7), 3, CancellationToken.None);
        Assert.Equal(["a0", "a1", "a2"], limited.Select(r => r.RequestId));
    }

    [SkippableFact]
    public async Task A_range_is_half_open()
    {
        var (ledger, spend) = await StoreAsync();
        await ledger.AppendAsync([.. Enumerable.Range(0, 4).Select(i => Sparse($"r{i}") with { Timestamp = T0.AddHours(i) })], CancellationToken.None);

        var range = await spend.ReadRangeAsync(T0.AddHours(1), T0.AddHours(3), CancellationToken.None);
        Assert.Equal(["r1", "r2"], range.Select(r => r.RequestId));
    }

    [SkippableFact]
    public async Task Spend_is_summed_exactly_per_key_or_team_in_one_currency_from_a_time_on()
    {
        var (ledger, spend) = await StoreAsync();
        LedgerEntry Row(string id, string? key, string? team, decimal? cost, string? currency, int hours) =>
            Sparse(id) with { KeyId = key, TeamId = team, Cost = cost, Currency = currency, Timestamp = T0.AddHours(hours), Status = 200 };
        await ledger.AppendAsync(
        [
            Row("1", "k1", "t1", 0.1m, "USD", 0),
            Row("2", "k1", "t1", 0.2m, "USD", 1),
            Row("3", "k1", null, 0.000000000001m, "USD", 2),
            Row("4", "k1", "t1", 5m, "CNY", 1),
            Row("5", "k2", "t1", 1m, "USD", 1),
            Row("6", "k1", "t1", null, null, 1), // unpriced: never counted as zero-cost spend, never counted at all
            Row("7", "k1", "t1", 100m, "USD", -1), // before the window
        ], CancellationToken.None);

        Assert.Equal(0.300000000001m, await spend.SpentSinceAsync("key", "k1", "USD", T0, CancellationToken.None));
        Assert.Equal(1.3m, await spend.SpentSinceAsync("team", "t1", "USD", T0, CancellationToken.None));
        Assert.Equal(5m, await spend.SpentSinceAsync("key", "k1", "CNY", T0, CancellationToken.None));
        Assert.Equal(0.200000000001m, await spend.SpentSinceAsync("key", "k1", "USD", T0.AddMinutes(1), CancellationToken.None));
        Assert.Equal(0m, await spend.SpentSinceAsync("key", "nobody", "USD", T0, CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_large_batch_is_stored_whole()
    {
        var (ledger, spend) = await StoreAsync();
        var batch = Enumerable.Range(0, 3000).Select(i => Full($"big-{i:D5}") with { Timestamp = T0.AddMilliseconds(i) }).ToList();
        await ledger.AppendAsync(batch, CancellationToken.None);

        var rows = await ledger.ReadAsync(T0, 10_000, CancellationToken.None);
        Assert.Equal(batch, rows);
        Assert.Equal(3000 * 0.000123456789m, await spend.SpentSinceAsync("key", "key-ä1", "USD", T0, CancellationToken.None));
    }
}

public sealed class SqliteLedgerStoreConformanceTests : LedgerStoreConformanceTests
{
    private readonly SqliteFolder _folder = new();

    protected override Task<ILedgerStore> OpenAsync() => Task.FromResult<ILedgerStore>(new Sqlite.SqliteLedgerStore(_folder.File("sanjia.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

public sealed class PostgresLedgerStoreConformanceTests(PostgresDatabaseFixture db) : LedgerStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<ILedgerStore> OpenAsync() => new Postgres.PostgresLedgerStore(await _backend.DatabaseAsync());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
