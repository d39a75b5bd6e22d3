using Sanjia.Abstractions;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Tests.Storage;

/// <summary>The SQLite ledger file as reports and budgets read it back: every column, nulls, and replays stored once.</summary>
public sealed class SqliteLedgerStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-ledger-store-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string DbPath => Path.Combine(_dir, "sanjia.db");

    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 30, 15, 123, TimeSpan.Zero);

    private static LedgerEntry Full(string id, int attempt = 1) => new()
    {
        RequestId = id,
        Attempt = attempt,
        Timestamp = T0.AddTicks(4567),
        KeyId = "key-ä1",
        TeamId = "team-研发",
        Endpoint = "/v1/chat/completions",
        Model = "fast",
        Deployment = "openai/gpt-4o-mini",
        Provider = "openai",
        Usage = new TokenUsage(Input: 1200, Output: 340, CachedInput: 1000, Reasoning: 120, Estimated: true),
        Status = 200,
        LatencyMs = 812.25,
        TimeToFirstTokenMs = 95.5,
        Stream = true,
        Cost = 0.000123456789m,
        Currency = "USD",
    };

    private static LedgerEntry Sparse(string id) => new()
    {
        RequestId = id,
        Timestamp = T0.AddSeconds(1),
        Endpoint = "/v1/messages",
        Model = "no-such-model",
        Status = 404,
        ErrorCode = "model_not_found",
        LatencyMs = 0.5,
    };

    [Fact]
    public async Task Every_column_reads_back_as_written_including_nulls()
    {
        using (var store = new SqliteLedgerStore(DbPath))
        {
            await store.AppendAsync([Full("req-1"), Sparse("req-2")], CancellationToken.None);
        }
        using var reopened = new SqliteLedgerStore(DbPath);
        var rows = await reopened.ReadAsync(T0.AddMinutes(-1), 10, CancellationToken.None);

        Assert.Equal(2, rows.Count);
        Assert.Equal(Full("req-1"), rows[0]);
        Assert.Equal(Sparse("req-2"), rows[1]);
        Assert.Null(rows[1].KeyId);
        Assert.Null(rows[1].TimeToFirstTokenMs);
        Assert.Null(rows[1].Cost);
    }

    [Fact]
    public async Task A_replayed_attempt_is_stored_once_and_spend_sums_exactly()
    {
        using var store = new SqliteLedgerStore(DbPath);
        await store.AppendAsync([Full("req-1"), Full("req-1", attempt: 2)], CancellationToken.None);
        await store.AppendAsync([Full("req-1"), Full("req-3")], CancellationToken.None); // req-1 attempt 1 again: a journal replay

        var rows = await store.ReadRangeAsync(T0, T0.AddMinutes(1), CancellationToken.None);
        Assert.Equal(["req-1/1", "req-1/2", "req-3/1"], rows.Select(r => $"{r.RequestId}/{r.Attempt}"));
        Assert.Equal(0.000370370367m, await store.SpentSinceAsync("key", "key-ä1", "USD", T0, CancellationToken.None));
        Assert.Equal(0.000370370367m, await store.SpentSinceAsync("team", "team-研发", "USD", T0, CancellationToken.None));
        Assert.Equal(0m, await store.SpentSinceAsync("key", "key-ä1", "CNY", T0, CancellationToken.None));
    }

    [Fact]
    public async Task Thousands_of_rows_in_large_batches_are_all_stored()
    {
        using var store = new SqliteLedgerStore(DbPath);
        for (var b = 0; b < 20; b++)
        {
            await store.AppendAsync([.. Enumerable.Range(0, 500).Select(i => Full($"req-{b:D2}-{i:D3}"))], CancellationToken.None);
        }
        var rows = await store.ReadAsync(T0.AddMinutes(-1), 20_000, CancellationToken.None);
        Assert.Equal(10_000, rows.Count);
        Assert.Equal(10_000, rows.Select(r => r.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task A_ledger_from_an_older_version_keeps_its_rows_and_gets_the_spend_indexes()
    {
        using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DbPath};Pooling=false"))
        {
            old.Open();
            using var cmd = old.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, attempt INTEGER NOT NULL,
                    ts TEXT NOT NULL, key_id TEXT, team_id TEXT, endpoint TEXT NOT NULL, model TEXT NOT NULL, deployment TEXT,
                    provider TEXT, input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                    reasoning_tokens INTEGER NOT NULL, estimated INTEGER NOT NULL, status INTEGER NOT NULL, error_code TEXT,
                    latency_ms REAL NOT NULL, ttft_ms REAL, stream INTEGER NOT NULL);
                CREATE INDEX ix_ledger_request ON ledger(request_id);
                CREATE INDEX ix_ledger_key ON ledger(key_id, ts);
                CREATE INDEX ix_ledger_team ON ledger(team_id, ts);
                INSERT INTO ledger (request_id, attempt, ts, key_id, team_id, endpoint, model, input_tokens, cached_input_tokens,
                    output_tokens, reasoning_tokens, estimated, status, latency_ms, stream)
                VALUES ('old-1', 1, '2026-11-28T09:00:00.0000000Z', 'key-ä1', NULL, '/v1/chat/completions', 'fast', 5, 0, 7, 0, 0, 200, 3.5, 0);
                """;
            cmd.ExecuteNonQuery();
        }
        using (var store = new SqliteLedgerStore(DbPath))
        {
            await store.AppendAsync([Full("req-1")], CancellationToken.None);
            Assert.Equal(0.000123456789m, await store.SpentSinceAsync("key", "key-ä1", "USD", T0.AddHours(-1), CancellationToken.None));
            Assert.Equal(["old-1", "req-1"], (await store.ReadAsync(T0.AddHours(-1), 10, CancellationToken.None)).Select(r => r.RequestId));
        }
        using var check = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DbPath};Pooling=false");
        check.Open();
        using var q = check.CreateCommand();
        q.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' AND sql IS NOT NULL ORDER BY name";
        var indexes = new List<string>();
        using (var r = q.ExecuteReader()) while (r.Read()) indexes.Add(r.GetString(0));
        Assert.Equal(["ix_ledger_key_spend", "ix_ledger_team_spend", "ix_ledger_ts", "ux_ledger_request_attempt"], indexes);
        // The budget queries still find rows through the partial indexes, not by scanning the ledger.
        foreach (var (column, index) in new[] { ("key_id", "ix_ledger_key_spend"), ("team_id", "ix_ledger_team_spend") })
        {
            q.CommandText = $"EXPLAIN QUERY PLAN SELECT cost FROM ledger WHERE {column} = 'x' AND currency = 'USD' AND ts >= '2026' AND cost IS NOT NULL";
            using var plan = q.ExecuteReader();
            Assert.True(plan.Read());
            Assert.Contains(index, plan.GetString(3));
        }
    }
}
