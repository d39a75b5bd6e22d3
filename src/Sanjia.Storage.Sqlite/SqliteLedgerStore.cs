using System.Globalization;
using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;
using SQLitePCL;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// The ledger in a local SQLite file (WAL journal, one transaction per batch). The default store: no server to run.
/// </summary>
public sealed partial class SqliteLedgerStore : ILedgerStore, ISpendSource, ILedgerQuery, IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _connection;
    private sqlite3_stmt? _insert;

    public SqliteLedgerStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = OwnerOnlyFiles.Database(databasePath), Pooling = false }.ToString();
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }

    private SqliteConnection Open()
    {
        if (_connection is not null) return _connection;
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Execute(c, "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        SqliteMigrations.Apply(c, "ledger", Migrations);
        _connection = c;
        return c;
    }

    /// <summary>The ledger's schema versions (docs/decisions/0005-schema-migrations.md); add a version, never edit one.</summary>
    internal static readonly IReadOnlyList<SqliteMigration> Migrations =
    [
        new(1, "ledger as of the ad-hoc upgrades", Baseline),
        new(2, "vendor cache writes and response cache hits", c => Execute(c, """
            ALTER TABLE ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE ledger ADD COLUMN cache_of TEXT;
            ALTER TABLE ledger ADD COLUMN cost_saved TEXT;
            """)),
        new(3, "guardrail decisions and image counts", c => Execute(c, """
            ALTER TABLE ledger ADD COLUMN guardrails TEXT;
            ALTER TABLE ledger ADD COLUMN images INTEGER;
            """)),
        new(4, "evaluation traffic marked", c => Execute(c, "ALTER TABLE ledger ADD COLUMN evaluation INTEGER NOT NULL DEFAULT 0;")),
    ];

    /// <summary>Version 1: the table as every earlier release's ad-hoc upgrades left it, reached from any of them (idempotent).</summary>
    private static void Baseline(SqliteConnection c)
    {
        Execute(c, """
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
        if (!SqliteMigrations.HasColumn(c, "ledger", "cost"))
        {
            Execute(c, "ALTER TABLE ledger ADD COLUMN cost TEXT; ALTER TABLE ledger ADD COLUMN currency TEXT;");
        }
        // One row per request attempt: replaying the journal after a crash must not count anything twice. The unique
        // index also serves lookups by request id, so the separate one older ledgers had is dropped (one B-tree insert
        // fewer per row).
        Execute(c, """
            CREATE UNIQUE INDEX IF NOT EXISTS ux_ledger_request_attempt ON ledger(request_id, attempt, endpoint);
            DROP INDEX IF EXISTS ix_ledger_request;
            """);
        // Spend by key and by team (budgets) never asks for a null key or team, so rows without one (the master key,
        // keys outside any team) stay out of these indexes: two B-tree inserts fewer per such row. Ledgers from
        // before had them over every row; they are rebuilt once.
        Execute(c, """
            DROP INDEX IF EXISTS ix_ledger_key;
            DROP INDEX IF EXISTS ix_ledger_team;
            CREATE INDEX IF NOT EXISTS ix_ledger_key_spend ON ledger(key_id, ts) WHERE key_id IS NOT NULL;
            CREATE INDEX IF NOT EXISTS ix_ledger_team_spend ON ledger(team_id, ts) WHERE team_id IS NOT NULL;
            """);
    }

    public async Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var c = Open();
            using var tx = c.BeginTransaction();
            var stmt = PreparedInsert(c);
            foreach (var e in entries)
            {
                InsertRow(c.Handle!, stmt, e);
            }
            tx.Commit();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Binds and steps the prepared insert through SQLite's own API: the ADO.NET command boxed 21 values, looked each
    /// parameter up by name and built a data reader per row, several times the cost of the row's B-tree inserts.
    /// </summary>
    private static void InsertRow(sqlite3 db, sqlite3_stmt stmt, LedgerEntry e)
    {
        try
        {
            Text(db, stmt, 1, e.RequestId);
            Check(db, raw.sqlite3_bind_int64(stmt, 2, e.Attempt));
            Formatted(db, stmt, 3, e.Timestamp.UtcDateTime, "O"); // as Ts() writes it: the range queries compare text
            Text(db, stmt, 4, e.KeyId);
            Text(db, stmt, 5, e.TeamId);
            Text(db, stmt, 6, e.Endpoint);
            Text(db, stmt, 7, e.Model);
            Text(db, stmt, 8, e.Deployment);
            Text(db, stmt, 9, e.Provider);
            Check(db, raw.sqlite3_bind_int64(stmt, 10, e.Usage.Input));
            Check(db, raw.sqlite3_bind_int64(stmt, 11, e.Usage.CachedInput));
            Check(db, raw.sqlite3_bind_int64(stmt, 12, e.Usage.Output));
            Check(db, raw.sqlite3_bind_int64(stmt, 13, e.Usage.Reasoning));
            Check(db, raw.sqlite3_bind_int64(stmt, 14, e.Usage.Estimated ? 1 : 0));
            Check(db, raw.sqlite3_bind_int64(stmt, 15, e.Status));
            Text(db, stmt, 16, e.ErrorCode);
            Check(db, raw.sqlite3_bind_double(stmt, 17, e.LatencyMs));
            Check(db, e.TimeToFirstTokenMs is { } t ? raw.sqlite3_bind_double(stmt, 18, t) : raw.sqlite3_bind_null(stmt, 18));
            Check(db, raw.sqlite3_bind_int64(stmt, 19, e.Stream ? 1 : 0));
            // Cost is a decimal string (exact, no float).
            if (e.Cost is { } cost) Formatted(db, stmt, 20, cost, null);
            else Check(db, raw.sqlite3_bind_null(stmt, 20));
            Text(db, stmt, 21, e.Currency);
            Check(db, raw.sqlite3_bind_int64(stmt, 22, e.Usage.CacheWrite));
            Text(db, stmt, 23, e.CacheOf);
            if (e.CostSaved is { } saved) Formatted(db, stmt, 24, saved, null);
            else Check(db, raw.sqlite3_bind_null(stmt, 24));
            Text(db, stmt, 25, e.Guardrails);
            Check(db, e.Images is { } images ? raw.sqlite3_bind_int64(stmt, 26, images) : raw.sqlite3_bind_null(stmt, 26));
            Check(db, raw.sqlite3_bind_int64(stmt, 27, e.Evaluation ? 1 : 0));
            var rc = raw.sqlite3_step(stmt);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    private static void Text(sqlite3 db, sqlite3_stmt stmt, int index, string? value) =>
        Check(db, value is null ? raw.sqlite3_bind_null(stmt, index) : raw.sqlite3_bind_text16(stmt, index, value.AsSpan()));

    /// <summary>Binds <paramref name="value"/> as invariant text, formatted on the stack.</summary>
    private static void Formatted<T>(sqlite3 db, sqlite3_stmt stmt, int index, T value, string? format) where T : ISpanFormattable
    {
        Span<char> text = stackalloc char[64];
        Check(db, value.TryFormat(text, out var n, format, CultureInfo.InvariantCulture)
            ? raw.sqlite3_bind_text16(stmt, index, text[..n])
            : raw.sqlite3_bind_text(stmt, index, value.ToString(format, CultureInfo.InvariantCulture)));
    }

    private static void Check(sqlite3 db, int rc) => SqliteException.ThrowExceptionForRC(rc, db);

    /// <summary>
    /// The row insert, prepared once per connection (called under the gate): preparing this 27-column statement (four
    /// indexes, a conflict clause) cost more than inserting a row, which at a few rows a second is every batch.
    /// </summary>
    private sqlite3_stmt PreparedInsert(SqliteConnection c)
    {
        if (_insert is not null) return _insert;
        var rc = raw.sqlite3_prepare_v2(c.Handle, """
            INSERT OR IGNORE INTO ledger (request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images, evaluation)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)
            """, out var stmt);
        SqliteException.ThrowExceptionForRC(rc, c.Handle);
        _insert = stmt;
        return stmt;
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
                    latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images, evaluation
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
                    latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images, evaluation
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

    /// <summary>
    /// Up to <paramref name="limit"/> rows after the row id <paramref name="afterId"/>, in insertion order, and the id
    /// of the last one (or <paramref name="afterId"/> when none): the whole ledger a page at a time (<c>sanjia db copy</c>).
    /// </summary>
    public async Task<(IReadOnlyList<LedgerEntry> Rows, long LastId)> ReadPageAsync(long afterId, int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            cmd.CommandText = """
                SELECT request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                    latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images, evaluation, id
                FROM ledger WHERE id > $after ORDER BY id LIMIT $limit
                """;
            cmd.Parameters.AddWithValue("$after", afterId);
            cmd.Parameters.AddWithValue("$limit", limit);
            var ids = new List<long>();
            var rows = await ReadEntriesAsync(cmd, cancellationToken, ids).ConfigureAwait(false);
            return (rows, ids.Count > 0 ? ids[^1] : afterId);
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

    private static async Task<IReadOnlyList<LedgerEntry>> ReadEntriesAsync(SqliteCommand cmd, CancellationToken cancellationToken, List<long>? ids = null)
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
                    Usage = new TokenUsage(r.GetInt32(9), r.GetInt32(11), r.GetInt32(10), r.GetInt32(12), r.GetInt32(13) == 1, r.GetInt32(21)),
                    Status = r.GetInt32(14),
                    ErrorCode = r.IsDBNull(15) ? null : r.GetString(15),
                    LatencyMs = r.GetDouble(16),
                    TimeToFirstTokenMs = r.IsDBNull(17) ? null : r.GetDouble(17),
                    Stream = r.GetInt32(18) == 1,
                    Cost = r.IsDBNull(19) ? null : decimal.Parse(r.GetString(19), NumberStyles.Float, CultureInfo.InvariantCulture),
                    Currency = r.IsDBNull(20) ? null : r.GetString(20),
                    CacheOf = r.IsDBNull(22) ? null : r.GetString(22),
                    CostSaved = r.IsDBNull(23) ? null : decimal.Parse(r.GetString(23), NumberStyles.Float, CultureInfo.InvariantCulture),
                    Guardrails = r.IsDBNull(24) ? null : r.GetString(24),
                    Images = r.IsDBNull(25) ? null : r.GetInt32(25),
                    Evaluation = r.GetInt32(26) == 1,
                });
                ids?.Add(r.GetInt64(27));
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
