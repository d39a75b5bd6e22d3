using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Storage.Tests;

/// <summary>The SQLite files' versioned migrations (docs/decisions/0005-schema-migrations.md): older files, several openers, newer files.</summary>
public sealed class SqliteMigrationTests : IDisposable
{
    private readonly SqliteFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Db => _folder.File("sanjia.db");

    private List<(string Component, int Version)> Recorded()
    {
        using var c = new SqliteConnection($"Data Source={Db};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT component, version FROM schema_migrations ORDER BY component, version";
        using var r = cmd.ExecuteReader();
        var list = new List<(string, int)>();
        while (r.Read()) list.Add((r.GetString(0), r.GetInt32(1)));
        return list;
    }

    [Fact]
    public async Task Stores_opening_one_new_file_at_once_record_each_version_once()
    {
        // Threads of their own: six blocked on a barrier would wait for a busy thread pool to grow (seconds on 2 cores).
        using var start = new Barrier(6);
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Factory.StartNew<IDisposable>(() =>
        {
            start.SignalAndWait();
            if (i % 2 == 0)
            {
                var ledger = new SqliteLedgerStore(Db);
                ledger.ReadAsync(DateTimeOffset.MinValue, 1, CancellationToken.None).GetAwaiter().GetResult(); // opens (and migrates) lazily
                return ledger;
            }
            return new SqliteKeyStore(Db);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        foreach (var s in stores) s.Dispose();

        Assert.Equal([("keys", 1), ("ledger", 1), ("ledger", 2), ("ledger", 3), ("ledger", 4)], Recorded());
    }

    [Fact]
    public async Task A_ledger_from_before_pricing_is_brought_to_version_1_with_its_rows_and_recorded()
    {
        // The table and indexes as the release before pricing and the insert-once key made them.
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            SqliteMigrations.Execute(c, """
                CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, attempt INTEGER NOT NULL, ts TEXT NOT NULL,
                    key_id TEXT, team_id TEXT, endpoint TEXT NOT NULL, model TEXT NOT NULL, deployment TEXT, provider TEXT,
                    input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
                    estimated INTEGER NOT NULL, status INTEGER NOT NULL, error_code TEXT, latency_ms REAL NOT NULL, ttft_ms REAL, stream INTEGER NOT NULL);
                CREATE INDEX ix_ledger_request ON ledger(request_id);
                CREATE INDEX ix_ledger_key ON ledger(key_id);
                INSERT INTO ledger (request_id, attempt, ts, endpoint, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, latency_ms, stream)
                VALUES ('old-1', 1, '2026-01-01T00:00:00.0000000Z', '/v1/chat/completions', 'fast', 5, 0, 7, 0, 0, 200, 12.5, 0);
                """);
        }

        using (var store = new SqliteLedgerStore(Db))
        {
            var old = Assert.Single(await store.ReadAsync(DateTimeOffset.MinValue, 10, CancellationToken.None));
            Assert.Equal(("old-1", 7, (decimal?)null), (old.RequestId, old.Usage.Output, old.Cost));
            // The insert-once key now holds: a replayed row is ignored.
            await store.AppendAsync([new LedgerEntry { RequestId = "old-1", Timestamp = old.Timestamp, Endpoint = old.Endpoint, Model = "fast", Status = 500 }], CancellationToken.None);
            Assert.Single(await store.ReadAsync(DateTimeOffset.MinValue, 10, CancellationToken.None));
        }
        Assert.Equal([("ledger", 1), ("ledger", 2), ("ledger", 3), ("ledger", 4)], Recorded());
    }

    /// <summary>The ledger's table as version 1 left it: no cache, guardrail or image columns.</summary>
    private static readonly SqliteMigration LedgerVersion1 = new(1, "ledger as of the ad-hoc upgrades", v1 => SqliteMigrations.Execute(v1, """
        CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, attempt INTEGER NOT NULL, ts TEXT NOT NULL,
            key_id TEXT, team_id TEXT, endpoint TEXT NOT NULL, model TEXT NOT NULL, deployment TEXT, provider TEXT,
            input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
            estimated INTEGER NOT NULL, status INTEGER NOT NULL, error_code TEXT, latency_ms REAL NOT NULL, ttft_ms REAL, stream INTEGER NOT NULL,
            cost TEXT, currency TEXT);
        CREATE UNIQUE INDEX ux_ledger_request_attempt ON ledger(request_id, attempt, endpoint);
        """));

    [Fact]
    public async Task A_version_1_ledger_gets_the_cache_columns_with_its_rows_read_as_no_cache_write_and_no_hit()
    {
        // A file as version 1 left it: the cache-write and cache-hit columns do not exist yet.
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            SqliteMigrations.Apply(c, "ledger", [LedgerVersion1]);
            SqliteMigrations.Execute(c, """
                INSERT INTO ledger (request_id, attempt, ts, endpoint, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, latency_ms, stream, cost, currency)
                VALUES ('v1-1', 1, '2026-01-01T00:00:00.0000000Z', '/v1/chat/completions', 'fast', 5, 0, 7, 0, 0, 200, 12.5, 0, '0.25', 'USD');
                """);
        }
        using (var store = new SqliteLedgerStore(Db))
        {
            var old = Assert.Single(await store.ReadAsync(DateTimeOffset.MinValue, 10, CancellationToken.None));
            Assert.Equal(("v1-1", 0, (string?)null, (decimal?)null, (decimal?)0.25m), (old.RequestId, old.Usage.CacheWrite, old.CacheOf, old.CostSaved, old.Cost));
        }
        Assert.Equal([("ledger", 1), ("ledger", 2), ("ledger", 3), ("ledger", 4)], Recorded());
    }

    [Fact]
    public async Task A_version_2_ledger_gets_the_guardrail_image_and_evaluation_columns_with_its_rows_read_as_none()
    {
        // A file as version 2 left it (the cache columns, no guardrails or images yet), with one row in it.
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            SqliteMigrations.Apply(c, "ledger",
            [
                LedgerVersion1,
                new SqliteMigration(2, "vendor cache writes and response cache hits", v2 => SqliteMigrations.Execute(v2, """
                    ALTER TABLE ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE ledger ADD COLUMN cache_of TEXT;
                    ALTER TABLE ledger ADD COLUMN cost_saved TEXT;
                    """)),
            ]);
            SqliteMigrations.Execute(c, """
                INSERT INTO ledger (request_id, attempt, ts, endpoint, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, latency_ms, stream, cost, currency, cache_of)
                VALUES ('v2-1', 1, '2026-01-01T00:00:00.0000000Z', '/v1/chat/completions', 'fast', 5, 0, 7, 0, 0, 200, 12.5, 0, '0', 'USD', 'v2-0');
                """);
        }
        using (var store = new SqliteLedgerStore(Db))
        {
            var old = Assert.Single(await store.ReadAsync(DateTimeOffset.MinValue, 10, CancellationToken.None));
            Assert.Equal(("v2-1", "v2-0", (string?)null, (int?)null), (old.RequestId, old.CacheOf, old.Guardrails, old.Images));
            Assert.False(old.Evaluation); // rows from before the mark read as production traffic
        }
        Assert.Equal([("ledger", 1), ("ledger", 2), ("ledger", 3), ("ledger", 4)], Recorded());
    }

    [Fact]
    public void A_file_newer_than_this_build_is_refused_and_left_alone()
    {
        using (var store = new SqliteKeyStore(Db))
        {
        }
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            SqliteMigrations.Execute(c, "INSERT INTO schema_migrations VALUES ('keys', 2, 'from the future', '2030-01-01T00:00:00Z')");
        }
        var error = Assert.Throws<InvalidOperationException>(() => new SqliteKeyStore(Db));
        Assert.Contains("keys tables", error.Message, StringComparison.Ordinal);
        Assert.Contains("schema version 2", error.Message, StringComparison.Ordinal);
        Assert.Equal([("keys", 1), ("keys", 2)], Recorded());
    }
}
