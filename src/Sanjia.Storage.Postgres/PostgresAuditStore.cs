using NpgsqlTypes;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Postgres;

/// <summary>The audit log in PostgreSQL (table <c>audit_log</c>, schema version 4), shared by every instance.</summary>
public sealed class PostgresAuditStore(PostgresDatabase database) : IAuditStore
{
    public const string Schema = """
        CREATE TABLE audit_log (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ts timestamptz NOT NULL,
            actor text NOT NULL, via text NOT NULL, remote text,
            method text NOT NULL, path text NOT NULL, route text NOT NULL,
            target_id text, fields text[] NOT NULL, status integer NOT NULL);
        CREATE INDEX ix_audit_log_ts ON audit_log (ts);
        """;

    public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("""
            INSERT INTO audit_log (ts, actor, via, remote, method, path, route, target_id, fields, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """);
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(entry.Timestamp), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = entry.Actor });
        cmd.Parameters.Add(new() { Value = entry.Via });
        cmd.Parameters.Add(new() { Value = (object?)entry.RemoteAddress ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = entry.Method });
        cmd.Parameters.Add(new() { Value = entry.Path });
        cmd.Parameters.Add(new() { Value = entry.Route });
        cmd.Parameters.Add(new() { Value = (object?)entry.TargetId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = entry.Fields.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = entry.Status });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand();
        var where = new PostgresWhere(cmd);
        where.Add("actor = $$", filter.Actor);
        where.Add("target_id = $$", filter.TargetId);
        where.Add("starts_with(path, $$)", filter.PathPrefix);
        where.Add("ts >= $$", filter.From is { } from ? PostgresDatabase.Utc(from) : null, NpgsqlDbType.TimestampTz);
        where.Add("ts < $$", filter.To is { } to ? PostgresDatabase.Utc(to) : null, NpgsqlDbType.TimestampTz);
        where.Add("id < $$", filter.Before);
        cmd.Parameters.Add(new() { Value = Math.Max(filter.Limit, 0) });
        cmd.CommandText = $"""
            SELECT id, ts, actor, via, remote, method, path, route, target_id, fields, status
            FROM audit_log WHERE {where} ORDER BY id DESC LIMIT ${cmd.Parameters.Count}
            """;
        var list = new List<AuditEntry>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new AuditEntry
            {
                Id = r.GetInt64(0),
                Timestamp = r.GetFieldValue<DateTimeOffset>(1),
                Actor = r.GetString(2),
                Via = r.GetString(3),
                RemoteAddress = r.IsDBNull(4) ? null : r.GetString(4),
                Method = r.GetString(5),
                Path = r.GetString(6),
                Route = r.GetString(7),
                TargetId = r.IsDBNull(8) ? null : r.GetString(8),
                Fields = r.GetFieldValue<string[]>(9),
                Status = r.GetInt32(10),
            });
        }
        return list;
    }
}
