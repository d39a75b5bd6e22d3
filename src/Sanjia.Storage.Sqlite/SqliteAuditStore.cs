using System.Globalization;
using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// The audit log in SQLite, beside the keys it records changes to (<c>sanjia.db</c>, its own migration component
/// <c>audit</c>). Admin actions are rare (people, not traffic): one insert per action, no batching.
/// </summary>
public sealed class SqliteAuditStore : IAuditStore, IDisposable
{
    private readonly SqliteStoreConnection _db;

    public SqliteAuditStore(string databasePath) => _db = new(databasePath, "audit", Migrations);

    internal static readonly IReadOnlyList<SqliteMigration> Migrations = [new(1, "audit log", c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                ts TEXT NOT NULL,
                actor TEXT NOT NULL, via TEXT NOT NULL, remote TEXT,
                method TEXT NOT NULL, path TEXT NOT NULL, route TEXT NOT NULL,
                target_id TEXT, fields TEXT NOT NULL, status INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_audit_ts ON audit_log(ts);
            """;
        cmd.ExecuteNonQuery();
    })];

    private static string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        await _db.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = _db.Open().CreateCommand();
            cmd.CommandText = """
                INSERT INTO audit_log (ts, actor, via, remote, method, path, route, target_id, fields, status)
                VALUES ($ts, $actor, $via, $remote, $method, $path, $route, $target, $fields, $status)
                """;
            cmd.Parameters.AddWithValue("$ts", Ts(entry.Timestamp));
            cmd.Parameters.AddWithValue("$actor", entry.Actor);
            cmd.Parameters.AddWithValue("$via", entry.Via);
            cmd.Parameters.AddWithValue("$remote", (object?)entry.RemoteAddress ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$method", entry.Method);
            cmd.Parameters.AddWithValue("$path", entry.Path);
            cmd.Parameters.AddWithValue("$route", entry.Route);
            cmd.Parameters.AddWithValue("$target", (object?)entry.TargetId ?? DBNull.Value);
            // Field names are identifiers ([a-z_]): a comma cannot occur in one.
            cmd.Parameters.AddWithValue("$fields", string.Join(',', entry.Fields));
            cmd.Parameters.AddWithValue("$status", entry.Status);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _db.Gate.Release();
        }
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditFilter filter, CancellationToken cancellationToken)
    {
        await _db.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = _db.Open().CreateCommand();
            var where = new SqliteWhere(cmd);
            where.Add("actor = $actor", "$actor", filter.Actor);
            where.Add("target_id = $target", "$target", filter.TargetId);
            // substr rather than LIKE: a '%' or '_' in the prefix is literal.
            where.Add("substr(path, 1, length($prefix)) = $prefix", "$prefix", filter.PathPrefix);
            where.Add("ts >= $from", "$from", filter.From is { } from ? Ts(from) : null);
            where.Add("ts < $to", "$to", filter.To is { } to ? Ts(to) : null);
            where.Add("id < $before", "$before", filter.Before);
            cmd.Parameters.AddWithValue("$limit", Math.Max(filter.Limit, 0));
            cmd.CommandText = $"""
                SELECT id, ts, actor, via, remote, method, path, route, target_id, fields, status
                FROM audit_log WHERE {where} ORDER BY id DESC LIMIT $limit
                """;
            var list = new List<AuditEntry>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                list.Add(new AuditEntry
                {
                    Id = r.GetInt64(0),
                    Timestamp = DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                    Actor = r.GetString(2),
                    Via = r.GetString(3),
                    RemoteAddress = r.IsDBNull(4) ? null : r.GetString(4),
                    Method = r.GetString(5),
                    Path = r.GetString(6),
                    Route = r.GetString(7),
                    TargetId = r.IsDBNull(8) ? null : r.GetString(8),
                    Fields = r.GetString(9) is { Length: > 0 } f ? f.Split(',') : [],
                    Status = r.GetInt32(10),
                });
            }
            return list;
        }
        finally
        {
            _db.Gate.Release();
        }
    }

    public void Dispose() => _db.Dispose();
}
