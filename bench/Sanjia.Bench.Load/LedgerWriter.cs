using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Pricing;
using Sanjia.Storage.Postgres;
using Sanjia.Testing.Postgres;

namespace Sanjia.Bench.Load;

/// <summary>
/// The ledger writer's throughput on PostgreSQL (issue 16 point 7, target 20,000 rows/s): the gateway's own
/// <see cref="JournaledLedger"/> (journal without fsync, the default) over <see cref="PostgresLedgerStore"/> (binary
/// COPY batches of up to 512 rows), offered rows as fast as one thread can journal them, timed from the first row
/// journaled to the last one committed, and the rows counted in PostgreSQL afterwards. Runs against a throwaway
/// server (fsync off, as the tests') unless <c>--postgres</c> names one; PostgreSQL's CPU is reported beside it.
/// </summary>
public static class LedgerWriter
{
    public static async Task<int> RunAsync(int rows, int repeats, string? connectionString)
    {
        PostgresServer? own = null;
        int? postmaster = null;
        if (connectionString is null)
        {
            own = await PostgresServer.StartDedicatedAsync();
            connectionString = await own.CreateDatabaseAsync("sanjia_ledger_bench");
            postmaster = Proc.FindByCommandLine("postgres", $"-p {own.Port.ToString(CultureInfo.InvariantCulture)}");
        }
        await using var database = await PostgresDatabase.OpenAsync(connectionString, CancellationToken.None);
        var store = new PostgresLedgerStore(database);
        var pricer = new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions());
        var dir = Directory.CreateTempSubdirectory("sanjia-ledger-bench-").FullName;
        var rates = new List<double>();
        try
        {
            for (var r = 0; r < repeats + 1; r++) // the first round warms up (JIT, connections, the table's first pages)
            {
                var ledger = new JournaledLedger(store, pricer, Path.Combine(dir, $"ledger-{r}.journal"), fsync: false, NullLogger<JournaledLedger>.Instance);
                await ledger.StartAsync(CancellationToken.None);
                var before = await CountAsync(database.DataSource);
                var cpu0 = postmaster is { } pm ? Proc.CpuSeconds(pm) : 0;
                var self0 = Process.GetCurrentProcess().TotalProcessorTime;
                var n = r == 0 ? Math.Min(rows, 20_000) : rows;
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < n; i++) await ledger.RecordDurableAsync(Row(r, i));
                var journaled = watch.Elapsed;
                await ledger.FlushAsync();
                var stored = watch.Elapsed;
                var self = (Process.GetCurrentProcess().TotalProcessorTime - self0).TotalSeconds;
                var pgCpu = postmaster is { } pm2 ? Proc.CpuSeconds(pm2) - cpu0 : double.NaN;
                await ledger.StopAsync(CancellationToken.None);
                var added = await CountAsync(database.DataSource) - before;
                if (added != n) throw new InvalidOperationException($"{added} rows reached PostgreSQL of {n} recorded");
                var rate = n / stored.TotalSeconds;
                if (r > 0) rates.Add(rate);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(r == 0 ? "warm-up" : $"run {r}")}: {n} rows journaled in {journaled.TotalSeconds:F2} s, all committed in PostgreSQL after {stored.TotalSeconds:F2} s: {rate:F0} rows/s; " +
                    $"CPU per row: writer process {self / n * 1e6:F1} µs, PostgreSQL {pgCpu / n * 1e6:F1} µs"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median {Stats.Median(rates):F0} rows/s over {repeats} runs of {rows} rows (target 20,000 rows/s)"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            if (own is not null) await own.StopAsync();
        }
        return 0;
    }

    private static async Task<long> CountAsync(NpgsqlDataSource ds)
    {
        await using var cmd = ds.CreateCommand("SELECT count(*) FROM ledger");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>A row as a priced chat call leaves it (key, team, deployment, tokens, cost).</summary>
    private static LedgerEntry Row(int round, int i) => new()
    {
        RequestId = string.Create(CultureInfo.InvariantCulture, $"req_bench_{round}_{i:x8}"),
        Timestamp = DateTimeOffset.UtcNow,
        KeyId = "key_0123456789",
        TeamId = "team_0123",
        Endpoint = "/v1/chat/completions",
        Model = "chat",
        Deployment = "openai/gpt-5-mini",
        Provider = "openai",
        Usage = new TokenUsage(120, 40, Estimated: false),
        Status = 200,
        LatencyMs = 412.5,
        Stream = i % 2 == 0,
        Cost = 0.00003m,
        Currency = "USD",
    };
}
