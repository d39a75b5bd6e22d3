using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Sanjia.Storage.Sqlite;

/// <summary>One schema version of one store's tables: applied once, inside the migration transaction.</summary>
public sealed record SqliteMigration(int Version, string Name, Action<SqliteConnection> Apply);

/// <summary>
/// Versioned schema migrations for the SQLite files (docs/decisions/0005-schema-migrations.md). Each store names its
/// tables' component (<c>ledger</c>, <c>keys</c>, ...; a file can hold several) and lists its versions; what was applied
/// is recorded in the file's <c>schema_migrations</c> table. Version 1 of every component is the schema as the ad-hoc
/// upgrades left it: idempotent, so it brings a file of any earlier release up to date, and is then recorded like any
/// other. The whole check runs in one <c>BEGIN IMMEDIATE</c> transaction (SQLite's DDL is transactional): processes
/// opening the same file at once take turns on its write lock, and the later ones find the versions recorded.
/// </summary>
public static class SqliteMigrations
{
    /// <summary>Applies the component's versions not yet recorded; returns those it applied.</summary>
    public static IReadOnlyList<int> Apply(SqliteConnection connection, string component, IReadOnlyList<SqliteMigration> migrations)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(migrations);
        // Deferred would take the write lock only at the first write, after reading the versions: two processes could
        // both read "none" and both apply. Immediate takes it first (waiting out the other, up to the busy timeout).
        using var tx = connection.BeginTransaction(deferred: false);
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                component TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL,
                PRIMARY KEY (component, version))
            """);
        var applied = new HashSet<int>();
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT version FROM schema_migrations WHERE component = $c";
            cmd.Parameters.AddWithValue("$c", component);
            using var r = cmd.ExecuteReader();
            while (r.Read()) applied.Add(r.GetInt32(0));
        }
        var latest = migrations[^1].Version;
        if (applied.Count > 0 && applied.Max() > latest)
        {
            throw new InvalidOperationException(
                $"The {component} tables of '{connection.DataSource}' are at schema version {applied.Max()}, newer than this build knows ({latest}); run the newer sanjia, or another data folder.");
        }
        var done = new List<int>();
        foreach (var m in migrations)
        {
            if (applied.Contains(m.Version)) continue;
            m.Apply(connection);
            using var record = connection.CreateCommand();
            record.CommandText = "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($c, $v, $n, $t)";
            record.Parameters.AddWithValue("$c", component);
            record.Parameters.AddWithValue("$v", m.Version);
            record.Parameters.AddWithValue("$n", m.Name);
            record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
            done.Add(m.Version);
        }
        tx.Commit();
        return done;
    }

    /// <summary>Whether a table has a column (the ad-hoc upgrades of version 1 test for what earlier releases lacked).</summary>
    public static bool HasColumn(SqliteConnection connection, string table, string column)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $n";
        cmd.Parameters.AddWithValue("$n", column);
        return cmd.ExecuteScalar() is not null;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
