using Sanjia.Abstractions;

namespace Sanjia.Storage.Tests;

/// <summary>What every audit store must do: every field back as written (nulls, no fields), newest first, filters, cursor pages.</summary>
public abstract class AuditStoreConformanceTests : IAsyncLifetime
{
    private IAuditStore? _store;

    protected abstract Task<IAuditStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => _store is IDisposable d ? Task.Run(d.Dispose) : Task.CompletedTask;

    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 11, 28, 9, 30, 15, 123, TimeSpan.Zero).AddTicks(4560);

    private static AuditEntry Entry(int i) => new()
    {
        Timestamp = T0.AddMinutes(i),
        Actor = i % 2 == 0 ? "master" : "key_admin",
        Via = i % 3 == 0 ? "console" : "key",
        RemoteAddress = i == 1 ? null : "127.0.0.1",
        Method = i % 4 == 0 ? "POST" : "PATCH",
        Path = i % 4 == 0 ? "/admin/keys" : $"/admin/keys/key_{i}",
        Route = i % 4 == 0 ? "/admin/keys" : "/admin/keys/{id}",
        TargetId = i == 2 ? null : $"key_{i}",
        Fields = i == 3 ? [] : ["name", "budget"],
        Status = i == 5 ? 400 : 200,
    };

    [SkippableFact]
    public async Task Entries_read_back_as_written_newest_first_filtered_and_paged()
    {
        _store = await OpenAsync();
        for (var i = 0; i < 8; i++) await _store.AppendAsync(Entry(i), CancellationToken.None);
        async Task<AuditEntry[]> Q(AuditFilter f) => [.. await _store.QueryAsync(f, CancellationToken.None)];

        var all = await Q(new() { Limit = 100 });
        Assert.Equal(Enumerable.Range(0, 8).Reverse().Select(Entry), all.Select(e => e with { Id = 0, Fields = [.. e.Fields] }), new AuditComparer());
        Assert.True(all.Select(e => e.Id).SequenceEqual(all.Select(e => e.Id).OrderDescending()));
        Assert.Equal(TimeSpan.Zero, all[0].Timestamp.Offset);

        Assert.Equal([7, 5, 3, 1], (await Q(new() { Actor = "key_admin" })).Select(e => e.Timestamp.Subtract(T0).Minutes));
        Assert.Equal([6], (await Q(new() { TargetId = "key_6" })).Select(e => e.Timestamp.Subtract(T0).Minutes));
        Assert.Equal([4, 0], (await Q(new() { PathPrefix = "/admin/keys", Actor = "master", From = T0, To = T0.AddMinutes(5) })).Where(e => e.Method == "POST").Select(e => e.Timestamp.Subtract(T0).Minutes));
        Assert.Empty(await Q(new() { PathPrefix = "/admin/teams" }));
        Assert.Equal([3, 2], (await Q(new() { From = T0.AddMinutes(2), To = T0.AddMinutes(4) })).Select(e => e.Timestamp.Subtract(T0).Minutes));

        var first = await Q(new() { Limit = 3 });
        var second = await Q(new() { Limit = 3, Before = first[^1].Id });
        Assert.Equal([7, 6, 5, 4, 3, 2], first.Concat(second).Select(e => e.Timestamp.Subtract(T0).Minutes));
    }

    private sealed class AuditComparer : IEqualityComparer<AuditEntry>
    {
        public bool Equals(AuditEntry? x, AuditEntry? y) => x!.Fields.SequenceEqual(y!.Fields) && (x with { Fields = [] }) == (y with { Fields = [] });

        public int GetHashCode(AuditEntry obj) => obj.Timestamp.GetHashCode();
    }
}

public sealed class SqliteAuditStoreConformanceTests : AuditStoreConformanceTests
{
    private readonly SqliteFolder _folder = new();

    protected override Task<IAuditStore> OpenAsync() => Task.FromResult<IAuditStore>(new Sqlite.SqliteAuditStore(_folder.File("sanjia.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

public sealed class PostgresAuditStoreConformanceTests(PostgresDatabaseFixture db) : AuditStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IAuditStore> OpenAsync() => new Postgres.PostgresAuditStore(await _backend.DatabaseAsync());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
