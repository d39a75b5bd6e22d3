using System.Globalization;
using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// The ledger in a local SQLite file (WAL journal, one transaction per batch). The default store: no server to run.
/// </summary>
public sealed class SqliteLedgerStore : ILedgerStore, ISpendSource, IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _connection;
    // The row insert, prepared once per connection and reused by every batch: preparing this 21-column statement
    // (five indexes, a conflict clause) cost more than inserting a row, which at a few rows a second is every batch.
    private SqliteCommand? _insert;
    private SqliteParameter[] _columns = [];

    private static readonly string[] InsertParameters =
        ["$rid", "$att", "$ts", "$key", "$team", "$ep", "$model", "$dep", "$prov", "$in", "$cin", "$out", "$rsn", "$est", "$st", "$err", "$lat", "$ttft", "$stream", "$cost", "$cur"];

    public SqliteLedgerStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString();
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }

    private SqliteConnection Open()
    {
        if (_connection is not null) return _connection;
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Execute(c, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS ledger (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                request_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                ts TEXT NOT NULL,
                key_id TEXT, team_id TEXT,
                endpoint TEXT NOT NULL,
                model TEXT NOT NULL,
                deployment TEXT, provider TEXT,
                input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
                estimated INTEGER NOT NULL,
                status INTEGER NOT NULL, error_code TEXT,
                latency_ms REAL NOT NULL, ttft_ms REAL,
                stream INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_ledger_ts ON ledger(ts);
            """);
        // Cost columns: added to ledgers created before pricing existed. Cost is a decimal string (exact, no float).
        if (!HasColumn(c, "ledger", "cost"))
        {
            Execute(c, "ALTER TABLE ledger ADD COLUMN cost TEXT; ALTER TABLE ledger ADD COLUMN currency TEXT;");
        }
        // One row per request attempt: replaying the journal after a crash must not count anything twice. The unique
        // index also serves lookups by request id, so the separate one older ledgers had is dropped (one B-tree insert
        // fewer per row).
        Execute(c, """
            CREATE UNIQUE INDEX IF NOT EXISTS ux_ledger_request_attempt ON ledger(request_id, attempt, endpoint);
            DROP INDEX IF EXISTS ix_ledger_request;
            CREATE INDEX IF NOT EXISTS ix_ledger_key ON ledger(key_id, ts);
            CREATE INDEX IF NOT EXISTS ix_ledger_team ON ledger(team_id, ts);
            """);
        _connection = c;
        return c;
    }

    public async Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var c = Open();
            using var tx = c.BeginTransaction();
            var cmd = Insert(c);
            cmd.Transaction = tx;
            var p = _columns;
            foreach (var e in entries)
            {
                p[0].Value = e.RequestId;
                p[1].Value = e.Attempt;
                p[2].Value = e.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
                p[3].Value = (object?)e.KeyId ?? DBNull.Value;
                p[4].Value = (object?)e.TeamId ?? DBNull.Value;
                p[5].Value = e.Endpoint;
                p[6].Value = e.Model;
                p[7].Value = (object?)e.Deployment ?? DBNull.Value;
                p[8].Value = (object?)e.Provider ?? DBNull.Value;
                p[9].Value = e.Usage.Input;
                p[10].Value = e.Usage.CachedInput;
                p[11].Value = e.Usage.Output;
                p[12].Value = e.Usage.Reasoning;
                p[13].Value = e.Usage.Estimated ? 1 : 0;
                p[14].Value = e.Status;
                p[15].Value = (object?)e.ErrorCode ?? DBNull.Value;
                p[16].Value = e.LatencyMs;
                p[17].Value = e.TimeToFirstTokenMs is { } t ? t : DBNull.Value;
                p[18].Value = e.Stream ? 1 : 0;
                p[19].Value = e.Cost is { } cost ? cost.ToString(CultureInfo.InvariantCulture) : DBNull.Value;
                p[20].Value = (object?)e.Currency ?? DBNull.Value;
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The prepared row insert on <paramref name="c"/> (called under the gate).</summary>
    private SqliteCommand Insert(SqliteConnection c)
    {
        if (_insert is not null) return _insert;
        var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT OR IGNORE INTO ledger (request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                latency_ms, ttft_ms, stream, cost, currency)
            VALUES ($rid, $att, $ts, $key, $team, $ep, $model, $dep, $prov, $in, $cin, $out, $rsn, $est, $st, $err, $lat, $ttft, $stream, $cost, $cur)
            """;
        _columns = Array.ConvertAll(InsertParameters, name => cmd.Parameters.Add(new SqliteParameter { ParameterName = name }));
        _insert = cmd;
        return cmd;
    }

    public async Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var c = Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                SELECT request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                    latency_ms, ttft_ms, stream, cost, currency
                FROM ledger WHERE ts >= $since ORDER BY id LIMIT $limit
                """;
            cmd.Parameters.AddWithValue("$since", since.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            cmd.Parameters.AddWithValue("$limit", limit);
            return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<LedgerEntry>> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            cmd.CommandText = """
                SELECT request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                    latency_ms, ttft_ms, stream, cost, currency
                FROM ledger WHERE ts >= $from AND ts < $to ORDER BY id
                """;
            cmd.Parameters.AddWithValue("$from", Ts(from));
            cmd.Parameters.AddWithValue("$to", Ts(to));
            return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<decimal> SpentSinceAsync(string scope, string id, string currency, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            // Summed in C# as decimal: SQLite's SUM would go through floating point.
            cmd.CommandText = scope == "team"
                ? "SELECT cost FROM ledger WHERE team_id = $id AND currency = $cur AND ts >= $since AND cost IS NOT NULL"
                : "SELECT cost FROM ledger WHERE key_id = $id AND currency = $cur AND ts >= $since AND cost IS NOT NULL";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$cur", currency);
            cmd.Parameters.AddWithValue("$since", Ts(since));
            var total = 0m;
            using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                total += decimal.Parse(r.GetString(0), NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            return total;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static bool HasColumn(SqliteConnection c, string table, string column)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $n";
        cmd.Parameters.AddWithValue("$n", column);
        return cmd.ExecuteScalar() is not null;
    }

    private static async Task<IReadOnlyList<LedgerEntry>> ReadEntriesAsync(SqliteCommand cmd, CancellationToken cancellationToken)
    {
        {
            var list = new List<LedgerEntry>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                list.Add(new LedgerEntry
                {
                    RequestId = r.GetString(0),
                    Attempt = r.GetInt32(1),
                    Timestamp = DateTimeOffset.Parse(r.GetString(2), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                    KeyId = r.IsDBNull(3) ? null : r.GetString(3),
                    TeamId = r.IsDBNull(4) ? null : r.GetString(4),
                    Endpoint = r.GetString(5),
                    Model = r.GetString(6),
                    Deployment = r.IsDBNull(7) ? null : r.GetString(7),
                    Provider = r.IsDBNull(8) ? null : r.GetString(8),
                    Usage = new TokenUsage(r.GetInt32(9), r.GetInt32(11), r.GetInt32(10), r.GetInt32(12), r.GetInt32(13) == 1),
                    Status = r.GetInt32(14),
                    ErrorCode = r.IsDBNull(15) ? null : r.GetString(15),
                    LatencyMs = r.GetDouble(16),
                    TimeToFirstTokenMs = r.IsDBNull(17) ? null : r.GetDouble(17),
                    Stream = r.GetInt32(18) == 1,
                    Cost = r.IsDBNull(19) ? null : decimal.Parse(r.GetString(19), NumberStyles.Float, CultureInfo.InvariantCulture),
                    Currency = r.IsDBNull(20) ? null : r.GetString(20),
                });
            }
            return list;
        }
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _insert?.Dispose();
        _connection?.Dispose();
        _gate.Dispose();
    }
}
