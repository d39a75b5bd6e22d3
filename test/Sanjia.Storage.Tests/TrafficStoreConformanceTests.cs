using Sanjia.Core.Shadow;
using Sanjia.Core.Traffic;

namespace Sanjia.Storage.Tests;

/// <summary>What every shadow store must do: pairs kept whole, read per alias (any case) oldest first, from a time on.</summary>
public abstract class ShadowStoreConformanceTests : IAsyncLifetime
{
    protected abstract Task<IShadowStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public abstract Task DisposeAsync();

    private static readonly DateTimeOffset T0 = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private static ShadowPair Pair(string id, string alias, int minutes, double? score) => new()
    {
        RequestId = id, Alias = alias, Candidate = "local/qwen", Timestamp = T0.AddMinutes(minutes),
        PrimaryDeployment = "openai/gpt-4o-mini", PrimaryText = "42", PrimaryInputTokens = 10, PrimaryOutputTokens = 2, PrimaryLatencyMs = 120.5,
        PrimaryCost = 0.0000123m, PrimaryCurrency = "USD", CandidateDeployment = "local/qwen", CandidateText = "forty-two",
        CandidateInputTokens = 10, CandidateOutputTokens = 3, CandidateLatencyMs = 800.25, Score = score,
        ScoreError = score is null ? "embedding model unavailable" : null,
    };

    [SkippableFact]
    public async Task Pairs_read_back_whole_per_alias_oldest_first_from_a_time_on_up_to_a_limit()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Pair("r1", "Fast", 0, 0.9), CancellationToken.None);
        await store.SaveAsync(Pair("r2", "other", 1, 0.5), CancellationToken.None);
        await store.SaveAsync(Pair("r3", "fast", 2, null), CancellationToken.None);
        await store.SaveAsync(Pair("r4", "FAST", 3, 0.1), CancellationToken.None);

        var all = await store.ReadAsync("fast", null, 100, CancellationToken.None);
        Assert.Equal(["r1", "r3", "r4"], all.Select(p => p.RequestId));
        Assert.Equal(Pair("r3", "fast", 2, null), all[1]);
        Assert.Equal(["r3", "r4"], (await store.ReadAsync("Fast", T0.AddMinutes(2), 100, CancellationToken.None)).Select(p => p.RequestId));
        Assert.Equal(["r1", "r3"], (await store.ReadAsync("fast", null, 2, CancellationToken.None)).Select(p => p.RequestId));
        Assert.Empty(await store.ReadAsync("none", null, 100, CancellationToken.None));
    }
}

/// <summary>What every body log store must do: batches kept whole, a request logged again replaced, filters and order.</summary>
public abstract class BodyLogStoreConformanceTests : IAsyncLifetime
{
    protected abstract Task<IBodyLogStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public abstract Task DisposeAsync();

    private static readonly DateTimeOffset T0 = new(2026, 7, 8, 9, 10, 11, 500, TimeSpan.Zero);

    private static LoggedExchange Exchange(string id, string model, string? key, int seconds) => new()
    {
        RequestId = id, Timestamp = T0.AddSeconds(seconds), Model = model, KeyId = key, Deployment = "openai/gpt-4o-mini",
        Endpoint = "/v1/chat/completions", RequestBody = """{"model":"fast","messages":[{"role":"user","content":"你好"}]}""",
        ResponseText = "Hello!", InputTokens = 12, OutputTokens = 3, LatencyMs = 250.75, Cost = 0.0000042m, Currency = "USD",
    };

    [SkippableFact]
    public async Task Exchanges_read_back_whole_filtered_by_model_key_and_half_open_time_in_time_order()
    {
        var store = await OpenAsync();
        await store.WriteAsync([Exchange("b", "Fast", "k1", 2), Exchange("a", "fast", "k2", 2), Exchange("c", "slow", "k1", 1)], CancellationToken.None);
        await store.WriteAsync([Exchange("d", "fast", null, 3) with { Deployment = null, Cost = null, Currency = null }], CancellationToken.None);

        var all = await store.ReadAsync(new BodyLogQuery(null, null, null, null), CancellationToken.None);
        Assert.Equal(["c", "a", "b", "d"], all.Select(e => e.RequestId)); // by time, then request id
        Assert.Equal(Exchange("a", "fast", "k2", 2), all[1]);
        Assert.Equal(Exchange("d", "fast", null, 3) with { Deployment = null, Cost = null, Currency = null }, all[3]);
        Assert.Equal(["a", "b", "d"], (await store.ReadAsync(new BodyLogQuery("FAST", null, null, null), CancellationToken.None)).Select(e => e.RequestId));
        Assert.Equal(["c", "b"], (await store.ReadAsync(new BodyLogQuery(null, "k1", null, null), CancellationToken.None)).Select(e => e.RequestId));
        Assert.Equal(["a", "b"], (await store.ReadAsync(new BodyLogQuery(null, null, T0.AddSeconds(2), T0.AddSeconds(3)), CancellationToken.None)).Select(e => e.RequestId));
        Assert.Equal(["c"], (await store.ReadAsync(new BodyLogQuery(null, null, null, null, Limit: 1), CancellationToken.None)).Select(e => e.RequestId));
    }

    [SkippableFact]
    public async Task A_request_logged_again_replaces_its_row()
    {
        var store = await OpenAsync();
        await store.WriteAsync([Exchange("a", "fast", "k1", 0)], CancellationToken.None);
        await store.WriteAsync([Exchange("a", "fast", "k1", 5) with { ResponseText = "again", OutputTokens = 9 }], CancellationToken.None);
        var row = Assert.Single(await store.ReadAsync(new BodyLogQuery(null, null, null, null), CancellationToken.None));
        Assert.Equal(("again", 9, T0.AddSeconds(5)), (row.ResponseText, row.OutputTokens, row.Timestamp));
    }
}

public sealed class SqliteShadowStoreConformanceTests : ShadowStoreConformanceTests
{
    private readonly SqliteBackend _backend = new();

    protected override Task<IShadowStore> OpenAsync() => Task.FromResult<IShadowStore>(_backend.Open(p => new Sqlite.SqliteShadowStore(p), "traffic.db"));

    public override Task DisposeAsync()
    {
        _backend.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresShadowStoreConformanceTests(PostgresDatabaseFixture db) : ShadowStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IShadowStore> OpenAsync() => new Postgres.PostgresShadowStore(await _backend.DatabaseAsync());

    public override Task DisposeAsync() => _backend.DisposeAsync().AsTask();
}

public sealed class SqliteBodyLogStoreConformanceTests : BodyLogStoreConformanceTests
{
    private readonly SqliteBackend _backend = new();

    protected override Task<IBodyLogStore> OpenAsync() => Task.FromResult<IBodyLogStore>(_backend.Open(p => new Sqlite.SqliteBodyLogStore(p), "traffic.db"));

    public override Task DisposeAsync()
    {
        _backend.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresBodyLogStoreConformanceTests(PostgresDatabaseFixture db) : BodyLogStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IBodyLogStore> OpenAsync() => new Postgres.PostgresBodyLogStore(await _backend.DatabaseAsync());

    public override Task DisposeAsync() => _backend.DisposeAsync().AsTask();
}
