using BenchmarkDotNet.Attributes;
using Sanjia.Abstractions;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Benchmarks;

/// <summary>
/// Storing ledger rows in SQLite, off the request path but on the same cores: a batch of one row (what a quiet
/// gateway writes after each request or stream) and a batch of 64 (a busy one), with and without a key and team. A real file in the temp folder,
/// WAL journal as in production; every row has a new request id.
/// </summary>
[Config(typeof(HotPathConfig))]
public class LedgerStoreBenchmarks
{
    private string _dir = null!;
    private SqliteLedgerStore _store = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("sanjia-bench-ledger-").FullName;
        _store = new SqliteLedgerStore(Path.Combine(_dir, "sanjia.db"));
        _store.AppendAsync(Rows(64), CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("ledger store")]
    public Task OneRowBatch() => _store.AppendAsync(Rows(1), CancellationToken.None);

    [Benchmark(OperationsPerInvoke = 64), BenchmarkCategory("ledger store")]
    public Task SixtyFourRowBatchPerRow() => _store.AppendAsync(Rows(64), CancellationToken.None);

    /// <summary>Rows without a key or team (master-key traffic): they skip the two spend indexes.</summary>
    [Benchmark(OperationsPerInvoke = 64), BenchmarkCategory("ledger store")]
    public Task SixtyFourMasterKeyRowsPerRow() => _store.AppendAsync(Rows(64, withKey: false), CancellationToken.None);

    private LedgerEntry[] Rows(int n, bool withKey = true)
    {
        var rows = new LedgerEntry[n];
        for (var i = 0; i < n; i++)
        {
            rows[i] = new LedgerEntry
            {
                RequestId = "req-" + (++_next).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Timestamp = DateTimeOffset.UtcNow,
                KeyId = withKey ? "key-1" : null,
                TeamId = withKey ? "team-1" : null,
                Endpoint = "/v1/chat/completions",
                Model = "fast",
                Deployment = "bench/fake",
                Provider = "bench",
                Usage = new TokenUsage(12, 40),
                Status = 200,
                LatencyMs = 12.5,
                TimeToFirstTokenMs = 3.1,
                Stream = true,
                Cost = 0.000123m,
                Currency = "USD",
            };
        }
        return rows;
    }
}
