using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Sanjia.Core.Prompts;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// The prompt library in PostgreSQL: one row per prompt, one per version (JSON in the shape SQLite keeps,
/// <see cref="StoredPromptVersion"/>). Ids are case-insensitive as in SQLite (a unique index on <c>lower(id)</c>); a new
/// version locks its prompt's row, so instances adding versions at once number them one after the other.
/// </summary>
public sealed class PostgresPromptStore(PostgresDatabase database) : IPromptStore
{
    public async Task<Prompt?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(connection, id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Prompt>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var ids = new List<string>();
        await using (var cmd = new NpgsqlCommand("SELECT id FROM prompts ORDER BY lower(id) COLLATE \"C\", id COLLATE \"C\"", connection))
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) ids.Add(r.GetString(0));
        }
        var list = new List<Prompt>(ids.Count);
        foreach (var id in ids)
        {
            if (await ReadAsync(connection, id, cancellationToken).ConfigureAwait(false) is { } p) list.Add(p);
        }
        return list;
    }

    public async Task<bool> CreateAsync(string id, string? description, PromptVersion first, CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var cmd = new NpgsqlCommand("INSERT INTO prompts (id, description, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", connection))
        {
            cmd.Parameters.Add(new() { Value = id });
            cmd.Parameters.Add(new() { Value = (object?)description ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(first.CreatedAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return false; // the id (in any case) is taken
        }
        await InsertAsync(connection, id, first with { Version = 1 }, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<PromptVersion?> AddVersionAsync(string id, PromptVersion version, CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string canonical;
        await using (var cmd = new NpgsqlCommand("SELECT id FROM prompts WHERE lower(id) = lower($1) FOR UPDATE", connection))
        {
            cmd.Parameters.Add(new() { Value = id });
            if (await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not string found) return null;
            canonical = found;
        }
        await using (var cmd = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM prompt_versions WHERE prompt_id = $1", connection))
        {
            cmd.Parameters.Add(new() { Value = canonical });
            version = version with { Version = (int)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! + 1 };
        }
        await InsertAsync(connection, canonical, version, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return version;
    }

    private static async Task InsertAsync(NpgsqlConnection connection, string id, PromptVersion version, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("INSERT INTO prompt_versions (prompt_id, version, body) VALUES ($1, $2, $3)", connection);
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = version.Version });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(StoredPromptVersion.From(version), StoredPromptVersion.Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Prompt?> ReadAsync(NpgsqlConnection connection, string id, CancellationToken cancellationToken)
    {
        string? description;
        DateTimeOffset created;
        await using (var cmd = new NpgsqlCommand("SELECT id, description, created FROM prompts WHERE lower(id) = lower($1)", connection))
        {
            cmd.Parameters.Add(new() { Value = id });
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
            id = r.GetString(0);
            description = r.IsDBNull(1) ? null : r.GetString(1);
            created = r.GetFieldValue<DateTimeOffset>(2);
        }
        var versions = new List<PromptVersion>();
        await using (var cmd = new NpgsqlCommand("SELECT body FROM prompt_versions WHERE prompt_id = $1 ORDER BY version", connection))
        {
            cmd.Parameters.Add(new() { Value = id });
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                versions.Add(JsonSerializer.Deserialize<StoredPromptVersion>(r.GetString(0), StoredPromptVersion.Json)!.ToVersion());
            }
        }
        return new Prompt(id, description, created, versions);
    }
}
