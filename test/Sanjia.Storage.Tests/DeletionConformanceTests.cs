using Sanjia.Abstractions;
using Sanjia.Core.Metering;
using Sanjia.Core.Traffic;

namespace Sanjia.Storage.Tests;

/// <summary>
/// What every ledger and body log store must do to forget (<see cref="IDeletableTraffic"/>): rows before a time, in
/// batches however many there are; every row of one key; every logged body of one end user (the request's
/// <c>user</c>, or Anthropic's <c>metadata.user_id</c>), and nothing else.
/// </summary>
public abstract class DeletionConformanceTests : IAsyncLifetime
{
    protected abstract Task<(ILedgerStore Ledger, IBodyLogStore Bodies)> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public abstract Task DisposeAsync();

    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static LedgerEntry Row(int i, string? key, DateTimeOffset at) => new()
    {
        RequestId = $"req-{i:D6}", Timestamp = at, KeyId = key, Endpoint = "/v1/chat/completions", Model = "chat", Status = 200,
        Usage = new TokenUsage(10, 2), Cost = 0.001m, Currency = "USD",
    };

    private static LoggedExchange Body(string id, string? key, string request, DateTimeOffset at) => new()
    {
        RequestId = id, Timestamp = at, Model = "chat", KeyId = key, Endpoint = "/v1/chat/completions", RequestBody = request, ResponseText = "ok",
    };

    private static async Task<List<string>> LedgerIdsAsync(ILedgerStore store) =>
        [.. (await store.ReadAsync(DateTimeOffset.MinValue, 1_000_000, CancellationToken.None)).Select(e => e.RequestId)];

    private static async Task<List<string>> BodyIdsAsync(IBodyLogStore store) =>
        [.. (await store.ReadAsync(new BodyLogQuery(null, null, null, null, int.MaxValue), CancellationToken.None)).Select(e => e.RequestId)];

    [SkippableFact]
    public async Task Ledger_rows_before_the_cutoff_are_deleted_in_batches_and_the_rest_kept()
    {
        var (ledger, _) = await OpenAsync();
        // More old rows than one delete batch holds (5000), so the batches are repeated.
        var old = Enumerable.Range(0, 6_500).Select(i => Row(i, "k1", T0.AddSeconds(i))).ToList();
        var recent = Enumerable.Range(10_000, 3).Select(i => Row(i, "k1", T0.AddDays(40))).ToList();
        await ledger.AppendAsync([.. old, .. recent], CancellationToken.None);

        var deleted = await ((IDeletableTraffic)ledger).DeleteOlderThanAsync(T0.AddDays(40), CancellationToken.None);

        Assert.Equal(6_500, deleted);
        Assert.Equal(recent.Select(r => r.RequestId), await LedgerIdsAsync(ledger));
        Assert.Equal("ledger", ((IDeletableTraffic)ledger).DataName);
        Assert.Equal(0, await ((IDeletableTraffic)ledger).DeleteOlderThanAsync(T0.AddDays(40), CancellationToken.None));
    }

    [SkippableFact]
    public async Task A_keys_ledger_rows_are_deleted_and_an_end_user_has_none_there()
    {
        var (ledger, _) = await OpenAsync();
        await ledger.AppendAsync([Row(1, "k1", T0), Row(2, "k2", T0), Row(3, "k1", T0.AddDays(1)), Row(4, null, T0)], CancellationToken.None);

        Assert.Equal(2, await ((IDeletableTraffic)ledger).DeleteSubjectAsync(DataSubject.Key("k1"), CancellationToken.None));
        Assert.Equal(["req-000002", "req-000004"], await LedgerIdsAsync(ledger));
        // Ledger rows record no end user: nothing of one is there, and nothing else goes.
        Assert.Equal(0, await ((IDeletableTraffic)ledger).DeleteSubjectAsync(DataSubject.EndUser("k2"), CancellationToken.None));
        Assert.Equal(2, (await LedgerIdsAsync(ledger)).Count);
    }

    [SkippableFact]
    public async Task Logged_bodies_go_by_age_by_key_and_by_end_user_in_either_protocol()
    {
        var (_, bodies) = await OpenAsync();
        var deletable = (IDeletableTraffic)bodies;
        await bodies.WriteAsync(
        [
            Body("openai-u1", "k1", """{"model":"chat","user":"u-1","messages":[{"role":"user","content":"hi"}]}""", T0.AddDays(10)),
            Body("anthropic-u1", "k2", """{"model":"chat","max_tokens":5,"metadata":{"user_id":"u-1"},"messages":[]}""", T0.AddDays(10)),
            // Names u-1 in its text, not as its user: kept.
            Body("mentions-u1", "k2", """{"model":"chat","user":"u-2","messages":[{"role":"user","content":"who is u-1?"}]}""", T0.AddDays(10)),
            Body("old", "k2", """{"model":"chat","messages":[]}""", T0),
            Body("key-k3", "k3", """{"model":"chat","messages":[]}""", T0.AddDays(10)),
        ], CancellationToken.None);

        Assert.Equal("body_log", deletable.DataName);
        Assert.Equal(2, await deletable.DeleteSubjectAsync(DataSubject.EndUser("u-1"), CancellationToken.None));
        Assert.Equal(["old", "key-k3", "mentions-u1"], await BodyIdsAsync(bodies)); // by time, then request id
        Assert.Equal(1, await deletable.DeleteOlderThanAsync(T0.AddDays(1), CancellationToken.None));
        Assert.Equal(1, await deletable.DeleteSubjectAsync(DataSubject.Key("k3"), CancellationToken.None));
        Assert.Equal(["mentions-u1"], await BodyIdsAsync(bodies));
    }
}

public sealed class SqliteDeletionConformanceTests : DeletionConformanceTests
{
    private readonly SqliteBackend _backend = new();

    protected override Task<(ILedgerStore, IBodyLogStore)> OpenAsync() => Task.FromResult<(ILedgerStore, IBodyLogStore)>(
        (_backend.Open(p => new Sqlite.SqliteLedgerStore(p), "sanjia.db"), _backend.Open(p => new Sqlite.SqliteBodyLogStore(p), "traffic.db")));

    public override Task DisposeAsync()
    {
        _backend.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresDeletionConformanceTests(PostgresDatabaseFixture db) : DeletionConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<(ILedgerStore, IBodyLogStore)> OpenAsync()
    {
        var database = await _backend.DatabaseAsync();
        return (new Postgres.PostgresLedgerStore(database), new Postgres.PostgresBodyLogStore(database));
    }

    public override Task DisposeAsync() => _backend.DisposeAsync().AsTask();
}
