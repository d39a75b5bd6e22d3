using System.Diagnostics;
using System.Net;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.Cluster;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Nginx;
using Sanjia.Testing.Postgres;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary>
/// The deployment of docs/deployment.md: three gateway processes on one PostgreSQL behind nginx running the
/// repository's <c>deploy/nginx/sanjia.conf</c>. Skipped without nginx or the PostgreSQL binaries, except under CI.
/// </summary>
public sealed class NginxClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Three_instances_behind_the_repository_nginx_config_stream_share_the_load_and_survive_a_killed_instance()
    {
        foreach (var (reason, required) in new[] { (PostgresServer.Unavailable, PostgresServer.RequiredByCi), (NginxServer.Unavailable, NginxServer.RequiredByCi) })
        {
            if (reason is null) continue;
            Assert.False(required, $"CI is set, so this is required: {reason}");
            Skip.If(true, reason);
        }
        var database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync($"sanjia_nginx_{Guid.NewGuid():N}");
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("through nginx", completionTokens: 5));
        await using var cluster = await GatewayCluster.StartAsync(3,
            [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}", "--Sanjia:ForwardedHeaders:Enabled=true"]);
        await using var nginx = await NginxServer.StartAsync([.. cluster.Instances.Select(g => g.Port)]);
        using var front = new HttpClient { BaseAddress = new Uri(nginx.Url), Timeout = TimeSpan.FromSeconds(60) };

        // Concurrent clients through nginx: every instance takes a share (least_conn), and the figures for sizing.
        await using var warm = ClusterLoad.Start(front, clients: 8);
        var loadClock = Stopwatch.StartNew();
        await ClusterLoad.WaitUntilAsync(() => warm.Acknowledged.Count >= 150, Bound, () => $"{warm.Acknowledged.Count} acknowledged through nginx");
        await warm.StopAsync();
        var rate = warm.Acknowledged.Count / loadClock.Elapsed.TotalSeconds;
        var spread = nginx.UpstreamCounts();
        output.WriteLine($"through nginx, 8 clients: {rate:F0} requests/s; per instance: {string.Join(", ", cluster.Instances.Select(g => $"{g.Port}: {spread.GetValueOrDefault(g.Port)}"))}; " +
            $"resident memory per instance: {string.Join(", ", cluster.Instances.Select(g => $"{g.ResidentMegabytes():F0} MB"))}");
        Assert.All(cluster.Instances, g => Assert.True(spread.GetValueOrDefault(g.Port) > 0, $"instance {g.Index} got no request"));
        Assert.Equal(0, warm.Refused + warm.FailedToConnect);
        await using (var ds = Npgsql.NpgsqlDataSource.Create(database))
        await using (var cmd = ds.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
        {
            output.WriteLine($"PostgreSQL connections of the three instances (and this query): {await cmd.ExecuteScalarAsync()}");
        }

        // Streams through nginx arrive chunk by chunk (one per instance at once, on warm instances): 12 chunks 100 ms
        // apart, so a buffered stream would arrive all at its end.
        upstream.SetDefault(FakeBehavior.StreamChunks(12, TimeSpan.FromMilliseconds(100)));
        var spans = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => StreamSpanAsync(front, i)));
        output.WriteLine($"streams through nginx, first to last event: {string.Join(", ", spans.Select(s => $"{s.TotalMilliseconds:F0} ms"))}");
        Assert.All(spans, span => Assert.True(span >= TimeSpan.FromSeconds(0.8), $"the events of a 1.2 s stream arrived within {span.TotalMilliseconds:F0} ms: buffered"));

        // An instance dies under load: nginx sends new requests to the other two (a refused connection is tried on the next).
        upstream.SetDefault(FakeBehavior.Reply("through nginx", completionTokens: 5));
        await using var load = ClusterLoad.Start(front, clients: 8);
        await ClusterLoad.WaitUntilAsync(() => load.Acknowledged.Count >= 50, Bound, () => $"{load.Acknowledged.Count} acknowledged before the kill");
        await cluster[0].KillAsync();
        var atKill = load.Acknowledged.Count;
        var failedAtKill = load.Refused + load.FailedToConnect;
        await ClusterLoad.WaitUntilAsync(() => load.Acknowledged.Count >= atKill + 100, Bound, () => $"{load.Acknowledged.Count - atKill} acknowledged after the kill");
        await load.StopAsync();
        output.WriteLine($"after the kill: {load.Acknowledged.Count - atKill} acknowledged; failed: {load.Refused} answered with another status, {load.FailedToConnect} cut");
        // At most the requests in flight on the killed instance fail (8 clients, one request each at a time).
        Assert.True(load.Refused + load.FailedToConnect - failedAtKill <= 8, $"{load.Refused} refused and {load.FailedToConnect} cut requests");

        // Restarted on its folder, it stores what its journal held; every acknowledged request has one row.
        await cluster[0].StartAsync();
        foreach (var run in new[] { warm, load })
        {
            var rows = await run.WaitForLedgerAsync(database, Bound);
            Assert.All(run.Acknowledged.Keys, id => Assert.Equal(1, rows[id]));
        }
    }

    /// <summary>Sends one stream through nginx; returns the time from its first to its last event.</summary>
    private static async Task<TimeSpan> StreamSpanAsync(HttpClient front, int i)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody($"stream {i} through nginx", stream: true) };
        m.Headers.Authorization = new("Bearer", GatewayCluster.MasterKey);
        using var r = await front.SendAsync(m, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
        var sw = Stopwatch.StartNew();
        TimeSpan? first = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: {", StringComparison.Ordinal)) first ??= sw.Elapsed;
            if (line == "data: [DONE]") return sw.Elapsed - first!.Value;
        }
        throw new InvalidOperationException("the stream ended without [DONE]");
    }
}
