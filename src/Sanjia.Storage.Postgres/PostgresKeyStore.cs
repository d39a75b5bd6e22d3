using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Npgsql;
using NpgsqlTypes;
using Sanjia.Abstractions;
using Sanjia.Core.Keys;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// Virtual keys and teams in PostgreSQL, in the same shape as the SQLite store: the searchable columns plus the whole
/// record as JSON (<see cref="KeyStoreJson"/>, shared with SQLite so <c>sanjia db copy</c> moves records unchanged).
/// </summary>
public sealed class PostgresKeyStore(PostgresDatabase database) : IKeyStore
{
    public async Task UpsertKeyAsync(VirtualKey key, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("""
            INSERT INTO virtual_keys (id, secret_hash, team_id, revoked, expires_at, record) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE SET team_id = EXCLUDED.team_id, revoked = EXCLUDED.revoked,
                expires_at = EXCLUDED.expires_at, record = EXCLUDED.record
            """);
        cmd.Parameters.Add(new() { Value = key.Id });
        cmd.Parameters.Add(new() { Value = key.SecretHash });
        cmd.Parameters.Add(new() { Value = (object?)key.TeamId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = key.RevokedAt is not null });
        cmd.Parameters.Add(new() { Value = key.ExpiresAt is { } e ? PostgresDatabase.Utc(e) : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(key, KeyStoreJson.Default.VirtualKey), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<VirtualKey?> GetKeyAsync(string id, CancellationToken cancellationToken) =>
        GetAsync("SELECT record FROM virtual_keys WHERE id = $1", id, KeyStoreJson.Default.VirtualKey, cancellationToken);

    public Task<IReadOnlyList<VirtualKey>> ListKeysAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT record FROM virtual_keys ORDER BY id COLLATE \"C\"", KeyStoreJson.Default.VirtualKey, cancellationToken);

    public async Task UpsertTeamAsync(Team team, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand(
            "INSERT INTO teams (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record");
        cmd.Parameters.Add(new() { Value = team.Id });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(team, KeyStoreJson.Default.Team), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<Team?> GetTeamAsync(string id, CancellationToken cancellationToken) =>
        GetAsync("SELECT record FROM teams WHERE id = $1", id, KeyStoreJson.Default.Team, cancellationToken);

    public Task<IReadOnlyList<Team>> ListTeamsAsync(CancellationToken cancellationToken) =>
        ListAsync("SELECT record FROM teams ORDER BY id COLLATE \"C\"", KeyStoreJson.Default.Team, cancellationToken);

    public async Task<bool> DeleteTeamAsync(string id, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("DELETE FROM teams WHERE id = $1");
        cmd.Parameters.Add(new() { Value = id });
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<T?> GetAsync<T>(string sql, string id, JsonTypeInfo<T> info, CancellationToken cancellationToken) where T : class
    {
        await using var cmd = database.DataSource.CreateCommand(sql);
        cmd.Parameters.Add(new() { Value = id });
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? JsonSerializer.Deserialize(json, info) : null;
    }

    private async Task<IReadOnlyList<T>> ListAsync<T>(string sql, JsonTypeInfo<T> info, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand(sql);
        var list = new List<T>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(JsonSerializer.Deserialize(r.GetString(0), info)!);
        return list;
    }
}
