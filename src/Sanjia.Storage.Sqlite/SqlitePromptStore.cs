using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sanjia.Core.Prompts;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>The prompt library in a SQLite file of the data folder: one row per prompt, one per version (JSON).</summary>
public sealed class SqlitePromptStore : IPromptStore, IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _connection;

    public SqlitePromptStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = OwnerOnlyFiles.Database(databasePath), Pooling = false }.ToString();
    }

    public async Task<Prompt?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Read(Open(), id);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<Prompt>> ListAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var c = Open();
            var ids = new List<string>();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "SELECT id FROM prompts ORDER BY id";
                using var r = cmd.ExecuteReader();
                while (r.Read()) ids.Add(r.GetString(0));
            }
            return [.. ids.Select(id => Read(c, id)!)];
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> CreateAsync(string id, string? description, PromptVersion first, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var c = Open();
            using var tx = c.BeginTransaction();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "INSERT OR IGNORE INTO prompts (id, description, created) VALUES ($id, $d, $c)";
                cmd.Parameters.AddWithValue("$id", id);
                cmd.Parameters.AddWithValue("$d", (object?)description ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$c", first.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
                if (cmd.ExecuteNonQuery() == 0) return false;
            }
            Insert(c, id, first with { Version = 1 });
            tx.Commit();
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<PromptVersion?> AddVersionAsync(string id, PromptVersion version, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var c = Open();
            using var tx = c.BeginTransaction();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT (SELECT COUNT(*) FROM prompts WHERE id = $id), (SELECT COALESCE(MAX(version), 0) FROM prompt_versions WHERE prompt_id = $id)";
            cmd.Parameters.AddWithValue("$id", id);
            using (var r = cmd.ExecuteReader())
            {
                r.Read();
                if (r.GetInt64(0) == 0) return null;
                version = version with { Version = r.GetInt32(1) + 1 };
            }
            Insert(c, id, version);
            tx.Commit();
            return version;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void Insert(SqliteConnection c, string id, PromptVersion version)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO prompt_versions (prompt_id, version, body) VALUES ($id, $v, $b)";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$v", version.Version);
        cmd.Parameters.AddWithValue("$b", JsonSerializer.Serialize(StoredPromptVersion.From(version), StoredPromptVersion.Json));
        cmd.ExecuteNonQuery();
    }

    private static Prompt? Read(SqliteConnection c, string id)
    {
        string? description;
        DateTimeOffset created;
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT id, description, created FROM prompts WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            using var r = cmd.ExecuteReader();
            if (!r.Read()) return null;
            id = r.GetString(0);
            description = r.IsDBNull(1) ? null : r.GetString(1);
            created = DateTimeOffset.Parse(r.GetString(2), CultureInfo.InvariantCulture);
        }
        var versions = new List<PromptVersion>();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT body FROM prompt_versions WHERE prompt_id = $id ORDER BY version";
            cmd.Parameters.AddWithValue("$id", id);
            using var r = cmd.ExecuteReader();
            while (r.Read()) versions.Add(JsonSerializer.Deserialize<StoredPromptVersion>(r.GetString(0), StoredPromptVersion.Json)!.ToVersion());
        }
        return new Prompt(id, description, created, versions);
    }

    private SqliteConnection Open()
    {
        if (_connection is not null) return _connection;
        var c = new SqliteConnection(_connectionString);
        c.Open();
        SqliteMigrations.Execute(c, "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL;");
        SqliteMigrations.Apply(c, "prompts", [new(1, "prompts and versions", Baseline)]);
        _connection = c;
        return c;
    }

    private static void Baseline(SqliteConnection c)
    {
        SqliteMigrations.Execute(c, """
            CREATE TABLE IF NOT EXISTS prompts (
                id TEXT PRIMARY KEY COLLATE NOCASE,
                description TEXT,
                created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS prompt_versions (
                prompt_id TEXT NOT NULL COLLATE NOCASE,
                version INTEGER NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (prompt_id, version));
            """);
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _gate.Dispose();
    }
}
