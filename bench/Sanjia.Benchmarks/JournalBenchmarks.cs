using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Pricing;

namespace Sanjia.Benchmarks;

/// <summary>
/// The ledger journal on the request path (decision 0003): a row's append (a copy into the mapped segment, the
/// default without fsync), and a stream's in-flight line, the one more copy every stream now pays when it begins.
/// The writer loop runs against a store that keeps nothing, so the journal is emptied as in production.
/// </summary>
[Config(typeof(HotPathConfig))]
public class JournalBenchmarks
{
    private string _dir = null!;
    private JournaledLedger _ledger = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("sanjia-bench-journal-").FullName;
        _ledger = new JournaledLedger(new DiscardingStore(), new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions()),
            Path.Combine(_dir, "ledger.journal"), fsync: false, NullLogger<JournaledLedger>.Instance);
        _ledger.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ledger.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("journal")]
    public ValueTask RowAppend() => _ledger.RecordDurableAsync(Row(200));

    /// <summary>A stream's in-flight line and then its row (which replaces the line): the difference is what a stream's start costs.</summary>
    [Benchmark, BenchmarkCategory("journal")]
    public ValueTask InFlightLineThenRow()
    {
        var id = NextId();
        _ledger.RecordInFlight(Row(JournaledLedger.InFlightStatus, id));
        return _ledger.RecordDurableAsync(Row(200, id));
    }

    private string NextId() => "req_" + (++_next).ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    private LedgerEntry Row(int status, string? id = null) => new()
    {
        RequestId = id ?? NextId(),
        Timestamp = DateTimeOffset.UtcNow,
        KeyId = "key_0123456789",
        Endpoint = "/v1/chat/completions",
        Model = "chat",
        Deployment = "openai/gpt-5-mini",
        Provider = "openai",
        Usage = new TokenUsage(120, 0, Estimated: true),
        Status = status,
        Stream = true,
        Cost = 0.00003m,
        Currency = "USD",
    };

    private sealed class DiscardingStore : ILedgerStore
    {
        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }
}
