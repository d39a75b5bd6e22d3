using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;
using Sanjia.Core.Keys;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// Virtual keys and teams in the gateway's SQLite file. Each row keeps the searchable columns (id, secret hash,
/// team, expiry) plus the whole record as JSON, so a new record field needs no new column: a row written before it
/// existed reads back with the field's default (before scopes and expiry: no scopes, no expiry, its old rights).
/// <c>expires_at</c> is a column too, added to older tables at start-up and filled from their records.
/// </summary>
public sealed class SqliteKeyStore : IKeyStore, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;

    public SqliteKeyStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = OwnerOnlyFiles.Database(databasePath), Pooling = false }.ToString());
        try
        {
            _connection.Open();
            SqliteMigrations.Execute(_connection, "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL;");
            SqliteMigrations.Apply(_connection, "keys", Migrations);
        }
        catch
        {
            _connection.Dispose(); // a file newer than this build, or not a database: nothing stays open
            throw;
        }
    }

    /// <summary>The key tables' schema versions (docs/decisions/0005-schema-migrations.md); add a version, never edit one.</summary>
    internal static readonly IReadOnlyList<SqliteMigration> Migrations = [new(1, "keys and teams as of the ad-hoc upgrades", Baseline)];

    /// <summary>Version 1: the tables as every earlier release's ad-hoc upgrades left them, reached from any of them (idempotent).</summary>
    private static void Baseline(SqliteConnection c)
    {
        SqliteMigrations.Execute(c, """
            CREATE TABLE IF NOT EXISTS virtual_keys (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, team_id TEXT, revoked INTEGER NOT NULL, record TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS teams (id TEXT PRIMARY KEY, record TEXT NOT NULL);
            """);
        if (SqliteMigrations.HasColumn(c, "virtual_keys", "expires_at")) return;
        // Rows written before expiry existed have none in their record, so the backfill leaves them NULL (never).
        SqliteMigrations.Execute(c, "ALTER TABLE virtual_keys ADD COLUMN expires_at TEXT; "
            + "UPDATE virtual_keys SET expires_at = json_extract(record, '$.ExpiresAt');");
    }

    public Task UpsertKeyAsync(VirtualKey key, CancellationToken cancellationToken) => Run(async () =>
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO virtual_keys (id, secret_hash, team_id, revoked, expires_at, record) VALUES ($id, $h, $t, $r, $e, $j)
            ON CONFLICT(id) DO UPDATE SET team_id = $t, revoked = $r, expires_at = $e, record = $j
            """;
        cmd.Parameters.AddWithValue("$id", key.Id);
        cmd.Parameters.AddWithValue("$h", key.SecretHash);
        cmd.Parameters.AddWithValue("$t", (object?)key.TeamId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$r", key.RevokedAt is null ? 0 : 1);
        cmd.Parameters.AddWithValue("$e", key.ExpiresAt is { } e ? e.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : DBNull.Value);
        cmd.Parameters.AddWithValue("$j", JsonSerializer.Serialize(key, KeyStoreJson.Default.VirtualKey));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    public Task<VirtualKey?> GetKeyAsync(string id, CancellationToken cancellationToken) => Run(async () =>
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT record FROM virtual_keys WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json
            ? JsonSerializer.Deserialize(json, KeyStoreJson.Default.VirtualKey) : null;
    }, cancellationToken);

    public Task<IReadOnlyList<VirtualKey>> ListKeysAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT record FROM virtual_keys ORDER BY id", KeyStoreJson.Default.VirtualKey, cancellationToken);

    public Task UpsertTeamAsync(Team team, CancellationToken cancellationToken) => Run(async () =>
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "INSERT INTO teams (id, record) VALUES ($id, $j) ON CONFLICT(id) DO UPDATE SET record = $j";
        cmd.Parameters.AddWithValue("$id", team.Id);
        cmd.Parameters.AddWithValue("$j", JsonSerializer.Serialize(team, KeyStoreJson.Default.Team));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    public Task<Team?> GetTeamAsync(string id, CancellationToken cancellationToken) => Run(async () =>
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT record FROM teams WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json
            ? JsonSerializer.Deserialize(json, KeyStoreJson.Default.Team) : null;
    }, cancellationToken);

    public Task<IReadOnlyList<Team>> ListTeamsAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT record FROM teams ORDER BY id", KeyStoreJson.Default.Team, cancellationToken);

    public Task<bool> DeleteTeamAsync(string id, CancellationToken cancellationToken) => Run(async () =>
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "DELETE FROM teams WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }, cancellationToken);

    private Task<IReadOnlyList<T>> ListAsync<T>(string sql, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info, CancellationToken cancellationToken) => Run(async () =>
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        var list = new List<T>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(JsonSerializer.Deserialize(r.GetString(0), info)!);
        }
        return (IReadOnlyList<T>)list;
    }, cancellationToken);

    private async Task<T> Run<T>(Func<Task<T>> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _connection.Dispose();
        _gate.Dispose();
    }
}
