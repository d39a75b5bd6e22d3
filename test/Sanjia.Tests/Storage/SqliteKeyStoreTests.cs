using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Tests.Storage;

/// <summary>Key tables written by an older version: they gain the expiry column, and their keys keep their rights.</summary>
public sealed class SqliteKeyStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-key-store-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string DbPath => Path.Combine(_dir, "sanjia.db");

    [Fact]
    public async Task A_table_from_before_expiry_and_scopes_is_migrated_and_its_keys_read_back_with_neither()
    {
        // The table and record exactly as the version before expiry and scopes wrote them.
        using (var c = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE virtual_keys (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, team_id TEXT, revoked INTEGER NOT NULL, record TEXT NOT NULL);
                CREATE TABLE teams (id TEXT PRIMARY KEY, record TEXT NOT NULL);
                INSERT INTO virtual_keys VALUES ('key_old', 'abc123', NULL, 0,
                  '{"Id":"key_old","Name":"legacy","SecretHash":"abc123","Prefix":"sk-sj-abcd","TeamId":null,"AllowedModels":["chat"],"Budget":null,"RpmLimit":60,"TpmLimit":null,"Metadata":{},"CreatedAt":"2026-01-02T03:04:05+00:00","RevokedAt":null}');
                """;
            cmd.ExecuteNonQuery();
        }

        using (var store = new SqliteKeyStore(DbPath))
        {
            var old = Assert.Single(await store.ListKeysAsync(CancellationToken.None));
            Assert.Equal(("legacy", 60, (DateTimeOffset?)null), (old.Name, old.RpmLimit, old.ExpiresAt));
            Assert.Empty(old.Scopes);
            Assert.Equal(["chat"], old.AllowedModels);

            await store.UpsertKeyAsync(old with { ExpiresAt = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), Scopes = [KeyScopes.AdminRead] }, CancellationToken.None);
        }

        // Reopening runs the migration again: nothing to do, nothing lost.
        using (var store = new SqliteKeyStore(DbPath))
        {
            var key = Assert.Single(await store.ListKeysAsync(CancellationToken.None));
            Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), key.ExpiresAt);
            Assert.Equal([KeyScopes.AdminRead], key.Scopes);
        }

        using var check = new SqliteConnection($"Data Source={DbPath};Mode=ReadOnly;Pooling=False");
        check.Open();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT expires_at FROM virtual_keys WHERE id = 'key_old'";
        Assert.Equal("2030-01-02T03:04:05.0000000Z", query.ExecuteScalar());
    }
}
