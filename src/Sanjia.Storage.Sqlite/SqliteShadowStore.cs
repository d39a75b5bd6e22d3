using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sanjia.Core.Shadow;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>Shadow pairs in their own table (<c>shadow_pairs</c>) of the traffic database in the data folder.</summary>
public sealed class SqliteShadowStore(string databasePath) : SqliteTable(databasePath, "shadow", """
    CREATE TABLE IF NOT EXISTS shadow_pairs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alias TEXT NOT NULL COLLATE NOCASE,
        request_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        score REAL,
        pair TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS shadow_pairs_alias_ts ON shadow_pairs (alias, ts);
    """), IShadowStore
{
    private static JsonSerializerOptions Json => Sanjia.Core.Json.SanjiaJson.Stored;

    public Task SaveAsync(ShadowPair pair, CancellationToken cancellationToken) => WithConnectionAsync(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO shadow_pairs (alias, request_id, ts, score, pair) VALUES ($a, $r, $t, $s, $p)";
        cmd.Parameters.AddWithValue("$a", pair.Alias);
        cmd.Parameters.AddWithValue("$r", pair.RequestId);
        cmd.Parameters.AddWithValue("$t", Time(pair.Timestamp));
        cmd.Parameters.AddWithValue("$s", (object?)pair.Score ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$p", JsonSerializer.Serialize(pair, Json));
        cmd.ExecuteNonQuery();
        return 0;
    }, cancellationToken);

    public Task<IReadOnlyList<ShadowPair>> ReadAsync(string alias, DateTimeOffset? since, int limit, CancellationToken cancellationToken) => WithConnectionAsync(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT pair FROM shadow_pairs WHERE alias = $a AND ts >= $since ORDER BY id LIMIT $n";
        cmd.Parameters.AddWithValue("$a", alias);
        cmd.Parameters.AddWithValue("$since", Time(since ?? DateTimeOffset.MinValue));
        cmd.Parameters.AddWithValue("$n", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<ShadowPair>();
        while (r.Read()) list.Add(JsonSerializer.Deserialize<ShadowPair>(r.GetString(0), Json)!);
        return (IReadOnlyList<ShadowPair>)list;
    }, cancellationToken);
    /// <summary>Every pair of every alias, oldest first (<c>sanjia db copy</c>).</summary>
    public Task<IReadOnlyList<ShadowPair>> ReadAllAsync(CancellationToken cancellationToken) => WithConnectionAsync(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT pair FROM shadow_pairs ORDER BY id";
        using var r = cmd.ExecuteReader();
        var list = new List<ShadowPair>();
        while (r.Read()) list.Add(JsonSerializer.Deserialize<ShadowPair>(r.GetString(0), Json)!);
        return (IReadOnlyList<ShadowPair>)list;
    }, cancellationToken);
}

/// <summary>One SQLite file, one connection guarded by a gate, schema created on first use: the shared plumbing of the small stores.</summary>
public abstract class SqliteTable : IDisposable
{
    private readonly string _connectionString;
    private readonly string _schema;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _connection;

    private readonly string _component;

    /// <param name="component">The tables' name in <c>schema_migrations</c> (docs/decisions/0005-schema-migrations.md).</param>
    /// <param name="schema">Version 1: the tables, created if missing; <see cref="Migrate"/> then brings older ones up to it.</param>
    protected SqliteTable(string databasePath, string component, string schema)
    {
        _component = component;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = OwnerOnlyFiles.Database(databasePath), Pooling = false }.ToString();
        _schema = schema;
    }

    /// <summary>Sortable UTC text, so time ranges are string comparisons.</summary>
    protected static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    protected async Task<T> WithConnectionAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                var c = new SqliteConnection(_connectionString);
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
                cmd.ExecuteNonQuery();
                SqliteMigrations.Apply(c, _component, [new(1, _component + " as of the ad-hoc upgrades", Baseline)]);
                _connection = c;
            }
            return work(_connection);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Version 1: the schema, then what the ad-hoc upgrades of earlier releases did (idempotent).</summary>
    private void Baseline(SqliteConnection connection)
    {
        SqliteMigrations.Execute(connection, _schema);
        Migrate(connection);
    }

    /// <summary>Brings a table made by an older release up to version 1 (e.g. adds columns); runs after the schema.</summary>
    protected virtual void Migrate(SqliteConnection connection)
    {
    }

    /// <summary>Adds a column when the table does not have it yet.</summary>
    protected static void AddColumnIfMissing(SqliteConnection connection, string table, string column, string type)
    {
        using var info = connection.CreateCommand();
        info.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = $c";
        info.Parameters.AddWithValue("$c", column);
        if (Convert.ToInt64(info.ExecuteScalar(), CultureInfo.InvariantCulture) > 0) return;
        using var alter = connection.CreateCommand();
        alter.CommandText = $"ALTER TABLE {table} ADD COLUMN {column} {type}";
        alter.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _gate.Dispose();
        GC.SuppressFinalize(this);
    }
}
