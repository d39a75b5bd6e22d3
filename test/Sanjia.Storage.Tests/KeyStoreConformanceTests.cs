using Sanjia.Abstractions;

namespace Sanjia.Storage.Tests;

/// <summary>What every key store must do: keys and teams written, replaced, listed in id order and read back whole.</summary>
public abstract class KeyStoreConformanceTests : IAsyncLifetime
{
    private IKeyStore? _store;

    protected abstract Task<IKeyStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => _store is IDisposable d ? Task.Run(d.Dispose) : Task.CompletedTask;

    private async Task<IKeyStore> StoreAsync() => _store = await OpenAsync();

    private static readonly DateTimeOffset Created = new(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);

    private static VirtualKey Key(string id, string? team = null) => new()
    {
        Id = id,
        Name = "name of " + id,
        SecretHash = "hash-" + id,
        Prefix = "sk-sj-" + id,
        TeamId = team,
        CreatedAt = Created,
    };

    [SkippableFact]
    public async Task A_key_reads_back_with_every_field_and_an_upsert_replaces_it()
    {
        var store = await StoreAsync();
        var full = Key("k1", "t1") with
        {
            AllowedModels = ["fast", "openai/gpt-4o-mini"],
            Budget = new Budget(12.345m, "USD", BudgetPeriod.Monthly),
            RpmLimit = 60,
            TpmLimit = 100_000,
            Metadata = new Dictionary<string, string> { ["owner"] = "研发", ["env"] = "prod" },
            ExpiresAt = Created.AddDays(30),
            Scopes = [KeyScopes.AdminRead, KeyScopes.Evaluation],
            Guardrails = ["pii-redact"],
        };
        await store.UpsertKeyAsync(full, CancellationToken.None);
        AssertSame(full, await store.GetKeyAsync("k1", CancellationToken.None));

        var revoked = full with { RevokedAt = Created.AddDays(1), TeamId = null, Budget = null, ExpiresAt = null, Scopes = [] };
        await store.UpsertKeyAsync(revoked, CancellationToken.None);
        AssertSame(revoked, await store.GetKeyAsync("k1", CancellationToken.None));
        Assert.Single(await store.ListKeysAsync(CancellationToken.None));
        Assert.Null(await store.GetKeyAsync("nope", CancellationToken.None));
    }

    [SkippableFact]
    public async Task Keys_and_teams_are_listed_in_id_order()
    {
        var store = await StoreAsync();
        foreach (var id in new[] { "key_b", "key_C", "key_a", "Key_z" }) await store.UpsertKeyAsync(Key(id), CancellationToken.None);
        foreach (var id in new[] { "team_b", "team_a", "Team_c" })
        {
            await store.UpsertTeamAsync(new Team { Id = id, Name = id, CreatedAt = Created }, CancellationToken.None);
        }
        // Ordinal order (upper case first), as SQLite's BINARY collation sorts.
        Assert.Equal(["Key_z", "key_C", "key_a", "key_b"], (await store.ListKeysAsync(CancellationToken.None)).Select(k => k.Id));
        Assert.Equal(["Team_c", "team_a", "team_b"], (await store.ListTeamsAsync(CancellationToken.None)).Select(t => t.Id));
    }

    [SkippableFact]
    public async Task A_team_is_written_replaced_read_back_and_deleted()
    {
        var store = await StoreAsync();
        var team = new Team
        {
            Id = "t1",
            Name = "Research",
            Budget = new Budget(100m, "CNY", BudgetPeriod.Daily),
            Metadata = new Dictionary<string, string> { ["cost-centre"] = "42" },
            CreatedAt = Created,
        };
        await store.UpsertTeamAsync(team, CancellationToken.None);
        var read = await store.GetTeamAsync("t1", CancellationToken.None);
        Assert.Equal((team.Name, team.Budget, team.CreatedAt), (read!.Name, read.Budget, read.CreatedAt));
        Assert.Equal(team.Metadata, read.Metadata);

        await store.UpsertTeamAsync(team with { Name = "Research & Development", Budget = null }, CancellationToken.None);
        read = await store.GetTeamAsync("t1", CancellationToken.None);
        Assert.Equal(("Research & Development", (Budget?)null), (read!.Name, read.Budget));

        Assert.True(await store.DeleteTeamAsync("t1", CancellationToken.None));
        Assert.False(await store.DeleteTeamAsync("t1", CancellationToken.None));
        Assert.Null(await store.GetTeamAsync("t1", CancellationToken.None));
        Assert.Empty(await store.ListTeamsAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task Two_keys_cannot_share_a_secret_hash()
    {
        var store = await StoreAsync();
        await store.UpsertKeyAsync(Key("k1"), CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => store.UpsertKeyAsync(Key("k2") with { SecretHash = "hash-k1" }, CancellationToken.None));
        Assert.Equal(["k1"], (await store.ListKeysAsync(CancellationToken.None)).Select(k => k.Id));
    }

    private static void AssertSame(VirtualKey expected, VirtualKey? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.AllowedModels, actual.AllowedModels);
        Assert.Equal(expected.Scopes, actual.Scopes);
        Assert.Equal(expected.Metadata, actual.Metadata);
        Assert.Equal(expected.Guardrails, actual.Guardrails);
        // The lists and dictionary compared above; the record's own equality compares them by reference.
        Assert.Equal(expected, actual with { AllowedModels = expected.AllowedModels, Scopes = expected.Scopes, Metadata = expected.Metadata, Guardrails = expected.Guardrails });
    }
}

public sealed class SqliteKeyStoreConformanceTests : KeyStoreConformanceTests
{
    private readonly SqliteFolder _folder = new();

    protected override Task<IKeyStore> OpenAsync() => Task.FromResult<IKeyStore>(new Sqlite.SqliteKeyStore(_folder.File("sanjia.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

public sealed class PostgresKeyStoreConformanceTests(PostgresDatabaseFixture db) : KeyStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IKeyStore> OpenAsync() => new Postgres.PostgresKeyStore(await _backend.DatabaseAsync());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
