using Microsoft.Data.Sqlite;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// The one connection of a store whose writes are rare (people's actions, not traffic): opened on first use with WAL
/// and a busy timeout, its migration component applied, and used by one caller at a time through <see cref="Gate"/>.
/// </summary>
internal sealed class SqliteStoreConnection(string databasePath, string component, IReadOnlyList<SqliteMigration> migrations) : IDisposable
{
    private readonly string _connectionString = Prepare(databasePath);
    private SqliteConnection? _connection;

    /// <summary>Held around every use of <see cref="Open"/>'s connection.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    private static string Prepare(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        return new SqliteConnectionStringBuilder { DataSource = OwnerOnlyFiles.Database(databasePath), Pooling = false }.ToString();
    }

    /// <summary>The open connection (call under <see cref="Gate"/>).</summary>
    public SqliteConnection Open()
    {
        if (_connection is not null) return _connection;
        var c = new SqliteConnection(_connectionString);
        c.Open();
        SqliteMigrations.Execute(c, "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL;");
        SqliteMigrations.Apply(c, component, migrations);
        _connection = c;
        return c;
    }

    public void Dispose()
    {
        _connection?.Dispose();
        Gate.Dispose();
    }
}
