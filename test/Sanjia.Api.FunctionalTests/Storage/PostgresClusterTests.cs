using System.Diagnostics;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.Cluster;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Postgres;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary>
/// Three gateway processes on one PostgreSQL database (<see cref="GatewayCluster"/>), each with its own data folder and
/// journal, under concurrent load, losing an instance (SIGKILL) or the database (stopped for 10 s): every acknowledged
/// response ends up with exactly one ledger row. Skipped without the PostgreSQL binaries, except under CI.
/// </summary>
public sealed class PostgresClusterTests(ITestOutputHelper output)
{
    private static void RequirePostgres()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
    }

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Sigkill_of_one_of_three_instances_under_load_loses_no_acknowledged_row_once_it_restarts()
    {
        RequirePostgres();
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync($"sanjia_cluster_{Guid.NewGuid():N}");
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("clustered answer", completionTokens: 5));
        await using var cluster = await GatewayCluster.StartAsync(3, [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}"]);
        var victim = cluster[1];

        await using var load = ClusterLoad.Start(cluster, clients: 9);
        // Kill once every instance has answered a good number (bounded waits, no speed target).
        await ClusterLoad.WaitUntilAsync(() => Enumerable.Range(0, 3).All(i => load.CountFrom(i) >= 40), Bound,
            () => $"acknowledged per instance: {string.Join(", ", Enumerable.Range(0, 3).Select(load.CountFrom))}");
        await victim.KillAsync(); // SIGKILL: its journal holds what it had not yet written to PostgreSQL
        var atKill = load.Acknowledged.Count;
        // The other two go on serving.
        await ClusterLoad.WaitUntilAsync(() => load.Acknowledged.Count >= atKill + 60, Bound, () => $"{load.Acknowledged.Count - atKill} acknowledged after the kill");
        await load.StopAsync();

        // The restarted instance replays its journal into PostgreSQL before it serves.
        await victim.StartAsync();
        var rows = await load.WaitForLedgerAsync(database, Bound);
        output.WriteLine($"{load.Acknowledged.Count} acknowledged ({string.Join(", ", Enumerable.Range(0, 3).Select(i => $"instance {i}: {load.CountFrom(i)}"))}); " +
            $"{load.FailedToConnect} failed to connect; {rows.Count} request ids in the ledger");
        var twice = load.Acknowledged.Keys.Where(id => rows[id] != 1).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} acknowledged requests have more than one ledger row, e.g. {twice.FirstOrDefault()}");
        Assert.Equal(0, load.Refused);
        Assert.True(load.CountFrom(1) >= 40, "the killed instance had acknowledged requests before the kill");
    }

    [SkippableFact]
    public async Task Postgresql_stopped_for_ten_seconds_mid_run_answers_every_request_and_loses_no_acknowledged_row()
    {
        RequirePostgres();
        // A server of this test's own: it is stopped and started, which the other test classes' shared one must not be.
        var server = await PostgresServer.StartDedicatedAsync();
        var database = await server.CreateDatabaseAsync("sanjia_outage");
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("answered without the database", completionTokens: 5));
        await using var cluster = await GatewayCluster.StartAsync(3, [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}"]);

        await using var load = ClusterLoad.Start(cluster, clients: 6);
        await ClusterLoad.WaitUntilAsync(() => load.Acknowledged.Count >= 60, Bound, () => $"{load.Acknowledged.Count} acknowledged before the outage");
        await server.StopAsync();
        var outage = Stopwatch.StartNew();
        var atStop = load.Acknowledged.Count;
        // Ten seconds down, with requests answered meanwhile (metering is off the request path: rows wait in the journals).
        await ClusterLoad.WaitUntilAsync(() => outage.Elapsed >= TimeSpan.FromSeconds(10) && load.Acknowledged.Count >= atStop + 60, Bound,
            () => $"{load.Acknowledged.Count - atStop} acknowledged during the outage");
        var duringOutage = load.Acknowledged.Count - atStop;
        await server.RestartAsync();
        var down = outage.Elapsed;
        var atReturn = load.Acknowledged.Count;
        await ClusterLoad.WaitUntilAsync(() => load.Acknowledged.Count >= atReturn + 60, Bound, () => $"{load.Acknowledged.Count - atReturn} acknowledged after the return");
        await load.StopAsync();

        // Every instance drains its journal once the database is back (retries 1 s, doubling up to 30 s; sooner when a new batch is stored).
        var drain = Stopwatch.StartNew();
        var rows = await load.WaitForLedgerAsync(database, Bound);
        output.WriteLine($"PostgreSQL down {down.TotalSeconds:F1} s; {load.Acknowledged.Count} acknowledged, {duringOutage} of them during the outage; " +
            $"{load.Refused} refused; every row in PostgreSQL {drain.Elapsed.TotalSeconds:F1} s after the load stopped");
        Assert.Equal(0, load.Refused);
        Assert.Equal(0, load.FailedToConnect);
        var twice = load.Acknowledged.Keys.Where(id => rows[id] != 1).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} acknowledged requests have more than one ledger row, e.g. {twice.FirstOrDefault()}");
        Assert.All(cluster.Instances, g => Assert.True(g.IsRunning, $"instance {g.Index} exited:\n{g.Output}"));
    }
}
