using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.Cluster;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Postgres;
using Sanjia.Testing.Redis;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary>
/// The deployment of docs/deployment.md as processes: three gateways (<see cref="GatewayCluster"/>) on one PostgreSQL
/// and one Redis, started once for the class (the tests of a class run one after the other, each with keys of its
/// own): one budget under 300 concurrent requests over the three, an RPM limit across them, a key revoked through one,
/// Redis restarted under load. Skipped without the PostgreSQL binaries or redis-server, except under CI.
/// </summary>
public sealed class RedisClusterTests(RedisClusterTests.Deployment deployment, ITestOutputHelper output) : IClassFixture<RedisClusterTests.Deployment>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>The three gateways, their PostgreSQL database, Redis and the fake vendor; started by the first test that runs, after its skip check.</summary>
    public sealed class Deployment : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private FakeOpenAiServer? _upstream;

        public GatewayCluster Cluster { get; private set; } = null!;
        public RedisServer Redis { get; private set; } = null!;
        public FakeOpenAiServer Upstream => _upstream!;
        public string Database { get; private set; } = "";

        public async Task StartAsync()
        {
            foreach (var (reason, required) in new[] { (PostgresServer.Unavailable, PostgresServer.RequiredByCi), (RedisServer.Unavailable, RedisServer.RequiredByCi) })
            {
                if (reason is null) continue;
                Assert.False(required, $"CI is set, so this is required: {reason}");
                Skip.If(true, reason);
            }
            await _gate.WaitAsync();
            try
            {
                if (_upstream is not null) return;
                Database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync($"sanjia_rcluster_{Guid.NewGuid():N}");
                Redis = await RedisServer.StartAsync();
                _upstream = await FakeOpenAiServer.StartAsync();
                // 20 ms before the answer's headers, so that hundreds of concurrent requests really overlap.
                _upstream.SetDefault(FakeBehavior.Reply("one two three four five six seven eight nine ten", completionTokens: 10) with { HeaderDelay = TimeSpan.FromMilliseconds(20) });
                // 5 s for a command instead of the gateway's 1 s: on a machine loaded by parallel test runs a Redis answer
                // can take over a second, and a budgeted key then fails closed (budget_store_unavailable) before any
                // outage this class makes. A killed Redis still fails commands at once (the connection breaks).
                Cluster = await GatewayCluster.StartAsync(3,
                    [.. MeteringSetup.Settings(_upstream), $"--Sanjia:Storage:Postgres={Database}",
                        $"--Sanjia:Redis:Configuration={Redis.Configuration},asyncTimeout=5000,syncTimeout=5000"]);
            }
            finally
            {
                _gate.Release();
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (Cluster is not null) await Cluster.DisposeAsync();
            if (_upstream is not null) await _upstream.DisposeAsync();
            if (Redis is not null) await Redis.DisposeAsync();
        }
    }

    private GatewayCluster Cluster => deployment.Cluster;

    private async Task<(string Id, string Secret)> CreateKeyAsync(object body)
    {
        using var r = await Cluster[0].Http.PostAsJsonAsync("/admin/keys", body);
        var json = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Created, json);
        var k = JsonDocument.Parse(json).RootElement;
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    private static async Task<(HttpStatusCode Status, string? Code, string? RequestId)> ChatAsync(GatewayProcess gw, string secret, string prompt, bool stream = false)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody(prompt, stream: stream, maxTokens: 20) };
        m.Headers.Authorization = new("Bearer", secret);
        using var r = await gw.Http.SendAsync(m);
        var body = await r.Content.ReadAsStringAsync();
        if (r.StatusCode != HttpStatusCode.OK)
        {
            var code = JsonDocument.Parse(body).RootElement.GetProperty("error").TryGetProperty("code", out var c) ? c.GetString() : null;
            return (r.StatusCode, code, null);
        }
        // Acknowledged: received whole (a JSON body, or a stream through [DONE]).
        Assert.True(body.EndsWith('}') || body.Contains("data: [DONE]", StringComparison.Ordinal), body);
        return (r.StatusCode, null, r.Headers.GetValues("x-request-id").Single());
    }

    /// <summary>Whether <paramref name="gw"/> takes <paramref name="secret"/> now, asked without spending anything (<c>GET /v1/models</c>).</summary>
    private static async Task<HttpStatusCode> ModelsAsync(GatewayProcess gw, string secret)
    {
        using var m = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        m.Headers.Authorization = new("Bearer", secret);
        using var r = await gw.Http.SendAsync(m);
        return r.StatusCode;
    }

    /// <summary>How long until <paramref name="gw"/> answers <paramref name="status"/> for <paramref name="secret"/>, polling every 5 ms (fails after the bound).</summary>
    private static async Task<TimeSpan> UntilModelsAsync(GatewayProcess gw, string secret, HttpStatusCode status, Stopwatch since)
    {
        while (true)
        {
            if (await ModelsAsync(gw, secret) == status) return since.Elapsed;
            Assert.True(since.Elapsed < Bound, $"instance {gw.Index} still does not answer {status} after {Bound.TotalSeconds} s");
            await Task.Delay(5);
        }
    }

    /// <summary>The key's budget as an instance reports it (Redis's spent and reserved), once nothing is reserved any more (settlements are sent without waiting).</summary>
    private static async Task<(decimal Spent, decimal Reserved)> BudgetAsync(GatewayProcess gw, string keyId)
    {
        (decimal Spent, decimal Reserved) status = default;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            var budget = JsonDocument.Parse(await gw.Http.GetStringAsync($"/admin/keys/{keyId}")).RootElement.GetProperty("budget");
            status = (Dec(budget, "spent"), Dec(budget, "reserved"));
            if (status.Reserved == 0m) break;
            await Task.Delay(50);
        }
        return status;
    }

    private static decimal Dec(JsonElement e, string name) => decimal.Parse(e.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);

    /// <summary>The key's ledger rows (answered ones) and their cost, straight from PostgreSQL, once there are at least <paramref name="expected"/> (instances write in batches off the request path).</summary>
    private async Task<(long Rows, decimal Cost)> LedgerAsync(string keyId, long expected)
    {
        await using var ds = NpgsqlDataSource.Create(deployment.Database);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            await using var cmd = ds.CreateCommand("SELECT count(*) FILTER (WHERE status = 200), coalesce(sum(cost), 0) FROM ledger WHERE key_id = $1");
            cmd.Parameters.Add(new() { Value = keyId });
            await using var row = await cmd.ExecuteReaderAsync();
            Assert.True(await row.ReadAsync());
            var (rows, cost) = (row.GetInt64(0), row.GetDecimal(1));
            if (rows >= expected) return (rows, cost);
            Assert.True(watch.Elapsed < Bound, $"after {Bound.TotalSeconds} s, {rows} of {expected} ledger rows of key {keyId}");
            await Task.Delay(100);
        }
    }

    [SkippableFact]
    public async Task Three_hundred_concurrent_requests_over_three_instances_never_settle_more_than_one_shared_budget()
    {
        await deployment.StartAsync();
        const decimal budget = 2m;
        var (keyId, secret) = await CreateKeyAsync(new { name = "shared-300", budget = new { amount = budget, currency = "USD", period = "monthly" } });
        var known = Stopwatch.StartNew();
        await Task.WhenAll(Cluster.Instances.Select(g => UntilModelsAsync(g, secret, HttpStatusCode.OK, known)));
        var vendorBefore = deployment.Upstream.Requests.Count;

        // All 300 at once, spread over the three (a third streamed); each costs about 0.03 USD, so about 66 fit.
        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(() => ChatAsync(Cluster[i % 3], secret, $"Request {i} against the shared budget", stream: i % 3 == 1))));
        var admitted = results.Count(r => r.Status == HttpStatusCode.OK);
        var refused = results.Where(r => r.Status != HttpStatusCode.OK).ToList();
        Assert.All(refused, r => Assert.Equal((HttpStatusCode.TooManyRequests, "budget_exceeded"), (r.Status, r.Code)));
        Assert.Equal(admitted, deployment.Upstream.Requests.Count - vendorBefore); // refused requests never reached the vendor

        var (rows, settled) = await LedgerAsync(keyId, admitted);
        var views = await Task.WhenAll(Cluster.Instances.Select(g => BudgetAsync(g, keyId)));
        var perInstance = Enumerable.Range(0, 3).Select(i => results.Where((_, j) => j % 3 == i).Count(r => r.Status == HttpStatusCode.OK));
        output.WriteLine($"300 concurrent requests over three instances against {budget} USD: {admitted} admitted ({string.Join(", ", perInstance)} per instance), " +
            $"{refused.Count} refused (budget_exceeded); ledger in PostgreSQL: {rows} rows, {settled} USD settled; " +
            $"Redis as each instance reports it: spent {string.Join(", ", views.Select(v => v.Spent))} USD, reserved {string.Join(", ", views.Select(v => v.Reserved))}");
        Assert.Equal(admitted, rows);
        Assert.InRange(admitted, 1, 299);
        Assert.True(settled <= budget, $"settled {settled} USD exceeds the budget {budget} USD");
        Assert.All(views, v =>
        {
            Assert.Equal(0m, v.Reserved);
            // Redis counts each settlement rounded up to a billionth of a dollar.
            Assert.InRange(v.Spent - settled, 0m, admitted * 0.000000001m);
        });
    }

    [SkippableFact]
    public async Task An_rpm_limit_holds_across_three_instances()
    {
        await deployment.StartAsync();
        var (_, secret) = await CreateKeyAsync(new { name = "rpm-6", rpm_limit = 6 });
        var known = Stopwatch.StartNew();
        await Task.WhenAll(Cluster.Instances.Select(g => UntilModelsAsync(g, secret, HttpStatusCode.OK, known)));
        var vendorBefore = deployment.Upstream.Requests.Count;

        var started = Stopwatch.StartNew();
        var results = new List<(HttpStatusCode Status, string? Code, string? RequestId)>();
        for (var i = 0; i < 18; i++) results.Add(await ChatAsync(Cluster[i % 3], secret, $"Limited request {i}"));
        var elapsed = started.Elapsed;
        var admitted = results.Count(r => r.Status == HttpStatusCode.OK);
        output.WriteLine($"rpm_limit 6, 18 requests in turn over three instances in {elapsed.TotalSeconds:0.0} s: {admitted} admitted " +
            $"({string.Join(", ", Enumerable.Range(0, 3).Select(i => results.Where((_, j) => j % 3 == i).Count(r => r.Status == HttpStatusCode.OK)))} per instance); " +
            "each instance counting alone would have admitted all 18");
        // A minute's six at once, then one every 10 s (only if this machine took that long).
        Assert.InRange(admitted, 6, 6 + (int)(elapsed.TotalSeconds / 10));
        Assert.All(results.Take(6), r => Assert.Equal(HttpStatusCode.OK, r.Status)); // the burst, whichever instance served it
        // The rest refused, but for one admitted every 10 s on a machine slow enough to take that long.
        Assert.All(results.Where(r => r.Status != HttpStatusCode.OK), r => Assert.Equal((HttpStatusCode.TooManyRequests, "rate_limit_exceeded"), (r.Status, r.Code)));
        Assert.Equal(admitted, deployment.Upstream.Requests.Count - vendorBefore);
    }

    [SkippableFact]
    public async Task A_key_revoked_through_one_instance_is_refused_by_the_other_two()
    {
        await deployment.StartAsync();
        var (keyId, secret) = await CreateKeyAsync(new { name = "revoked" });
        var created = Stopwatch.StartNew();
        var known = await Task.WhenAll(Cluster.Instances.Skip(1).Select(g => UntilModelsAsync(g, secret, HttpStatusCode.OK, created)));
        foreach (var g in Cluster.Instances) Assert.Equal(HttpStatusCode.OK, (await ChatAsync(g, secret, "before the revocation")).Status);

        using (var delete = await Cluster[0].Http.DeleteAsync($"/admin/keys/{keyId}")) Assert.True(delete.IsSuccessStatusCode, $"{delete.StatusCode}");
        var revoked = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Unauthorized, await ModelsAsync(Cluster[0], secret));
        var refused = await Task.WhenAll(Cluster.Instances.Skip(1).Select(g => UntilModelsAsync(g, secret, HttpStatusCode.Unauthorized, revoked)));
        output.WriteLine($"a key created through instance 0 was taken by instances 1 and 2 after {string.Join(", ", known.Select(t => $"{t.TotalMilliseconds:0} ms"))}; " +
            $"revoked through instance 0, refused by them after {string.Join(", ", refused.Select(t => $"{t.TotalMilliseconds:0} ms"))} (polling every 5 ms)");
        foreach (var g in Cluster.Instances)
        {
            var r = await ChatAsync(g, secret, "after the revocation");
            Assert.Equal(HttpStatusCode.Unauthorized, r.Status);
        }
        // Within a second as documented, with room for a loaded machine.
        Assert.All(refused, t => Assert.True(t < TimeSpan.FromSeconds(5), $"refused only after {t}"));
    }

    [SkippableFact]
    public async Task Redis_restarted_under_load_refuses_budgeted_keys_meanwhile_serves_the_others_and_loses_nothing()
    {
        await deployment.StartAsync();
        var (budgetedId, budgeted) = await CreateKeyAsync(new { name = "budgeted-restart", budget = new { amount = 1000, currency = "USD", period = "monthly" } });
        var (freeId, free) = await CreateKeyAsync(new { name = "free-restart" });
        var known = Stopwatch.StartNew();
        await Task.WhenAll(Cluster.Instances.SelectMany(g => new[] { UntilModelsAsync(g, budgeted, HttpStatusCode.OK, known), UntilModelsAsync(g, free, HttpStatusCode.OK, known) }));

        // Six clients in turn over the instances, alternating the two keys, half of them streamed.
        var phase = 0; // 0 before the stop, 1 while Redis is down, 2 after its restart (set just after each step)
        var answers = new ConcurrentBag<(int Phase, bool Budgeted, int Instance, HttpStatusCode Status, string? Code, string? RequestId)>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 6).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var isBudgeted = (c + i) % 2 == 0;
                var (status, code, id) = await ChatAsync(Cluster[(c + i) % 3], isBudgeted ? budgeted : free, $"client {c} request {i}", stream: c % 2 == 0);
                // The phase when the answer came: a request sent just before the stop may be admitted just after it.
                answers.Add((Volatile.Read(ref phase), isBudgeted, (c + i) % 3, status, code, id));
                if (status != HttpStatusCode.OK) await Task.Delay(20);
            }
        })).ToList();
        int Count(Func<(int Phase, bool Budgeted, int Instance, HttpStatusCode Status, string? Code, string? RequestId), bool> which) => answers.Count(which);

        await ClusterLoad.WaitUntilAsync(() => Count(a => a.Status == HttpStatusCode.OK) >= 60, Bound, () => $"{answers.Count} answers before the stop");
        Volatile.Write(ref phase, 1); // before the kill, so that no refusal can be counted before it
        await deployment.Redis.StopAsync(); // SIGKILL, no persistence: it comes back empty
        var outage = Stopwatch.StartNew();
        // Down until every instance has noticed (refused a budgeted key) and free keys went on meanwhile.
        await ClusterLoad.WaitUntilAsync(() => outage.Elapsed > TimeSpan.FromSeconds(2)
                && Enumerable.Range(0, 3).All(i => Count(a => a.Phase == 1 && a.Budgeted && a.Instance == i && a.Code == "budget_store_unavailable") > 0)
                && Count(a => a.Phase == 1 && !a.Budgeted && a.Status == HttpStatusCode.OK) >= 20,
            Bound, () => $"during the outage: {Count(a => a.Phase == 1 && a.Code == "budget_store_unavailable")} refused, {Count(a => a.Phase == 1 && a.Status == HttpStatusCode.OK)} served");
        await deployment.Redis.RestartAsync();
        var down = outage.Elapsed;
        Volatile.Write(ref phase, 2);
        var restarted = Stopwatch.StartNew();
        // Every instance reconnects by itself (each second) and admits the budgeted key again, rebuilt from the ledger.
        await ClusterLoad.WaitUntilAsync(() => Enumerable.Range(0, 3).All(i => Count(a => a.Phase == 2 && a.Budgeted && a.Instance == i && a.Status == HttpStatusCode.OK) >= 5),
            Bound, () => $"after the restart, budgeted answers admitted per instance: {string.Join(", ", Enumerable.Range(0, 3).Select(i => Count(a => a.Phase == 2 && a.Budgeted && a.Instance == i && a.Status == HttpStatusCode.OK)))}");
        var recovered = restarted.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        var all = answers.ToList();
        var budgetedOk = all.Count(a => a.Budgeted && a.Status == HttpStatusCode.OK);
        var freeOk = all.Count(a => !a.Budgeted && a.Status == HttpStatusCode.OK);
        var closed = all.Where(a => a.Status != HttpStatusCode.OK).ToList();
        // Only a budgeted key is refused, with the documented code, and only while Redis is away (down, or just back
        // and not reconnected yet).
        Assert.All(closed, a => Assert.Equal((true, HttpStatusCode.ServiceUnavailable, "budget_store_unavailable", true), (a.Budgeted, a.Status, a.Code, a.Phase >= 1)));

        // Nothing lost: every acknowledged answer has exactly one ledger row.
        var (budgetedRows, budgetedCost) = await LedgerAsync(budgetedId, budgetedOk);
        var (freeRows, _) = await LedgerAsync(freeId, freeOk);
        var ids = await ClusterLoad.LedgerRowsAsync(deployment.Database);
        var acknowledged = all.Where(a => a.RequestId is not null).Select(a => a.RequestId!).ToList();
        Assert.All(acknowledged, id => Assert.Equal(1, ids.GetValueOrDefault(id)));
        Assert.Equal((budgetedOk, freeOk), (budgetedRows, freeRows));

        // Redis's spend for the budget is the ledger's (rebuilt from it at the first admission after the restart),
        // give or take the requests whose row was not in PostgreSQL yet at that moment, or settled just as it came
        // back: at most one per client (six), each at most the hold of 20 output tokens and the prompt.
        var views = await Task.WhenAll(Cluster.Instances.Select(g => BudgetAsync(g, budgetedId)));
        output.WriteLine($"Redis down {down.TotalSeconds:0.0} s, every instance admitting the budgeted key again {recovered.TotalSeconds:0.0} s after its restart; " +
            $"budgeted key: {budgetedOk} served, {closed.Count} refused with 503 budget_store_unavailable; free key: {freeOk} served, none refused; " +
            $"ledger: {budgetedRows + freeRows} rows, one per acknowledged answer; budgeted key's spend: ledger {budgetedCost} USD, Redis {views[0].Spent} USD");
        Assert.All(views, v => Assert.Equal(views[0], v));
        Assert.Equal(0m, views[0].Reserved);
        Assert.InRange(views[0].Spent - budgetedCost, -6 * 0.1m, 6 * 0.1m);
    }
}
