using System.Globalization;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary>The console's aggregates (<c>/admin/stats/*</c>) over real requests and backdated ledger rows, checked against <c>/admin/spend</c>.</summary>
public sealed class StatsTests
{
    private static async Task<int> ChatAsync(GatewayServer gw, string model, string? key = null)
    {
        using var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", key ?? gw.Key);
        m.Content = GatewayServer.ChatBody(model, "hello", maxTokens: 10);
        using var r = await gw.Anonymous.SendAsync(m);
        return (int)r.StatusCode;
    }

    private static async Task<GatewayServer> StartAsync(FakeOpenAiServer good, FakeOpenAiServer bad) => await GatewayServer.StartWithArgsAsync(
    [
        .. GatewayServer.Provider("good", good.BaseUrl, good.ApiKey),
        .. GatewayServer.Provider("bad", bad.BaseUrl, bad.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "good", "gpt-4o-mini"),
        .. GatewayServer.Deployment("broken", 0, "bad", "gpt-4o-mini"),
        "--Sanjia:Metering:Prices:good/gpt-4o-mini:Currency=USD", "--Sanjia:Metering:Prices:good/gpt-4o-mini:Input=1", "--Sanjia:Metering:Prices:good/gpt-4o-mini:Output=2",
        "--Sanjia:Routing:Retry:MaxAttempts=1",
    ]);

    [Fact]
    public async Task Overview_and_sla_count_vendor_failures_apart_from_client_errors_and_agree_with_the_spend_report()
    {
        await using var good = await FakeOpenAiServer.StartAsync();
        await using var bad = await FakeOpenAiServer.StartAsync();
        bad.SetDefault(FakeBehavior.Status(503, "overloaded"));
        await using var gw = await StartAsync(good, bad);
        for (var i = 0; i < 5; i++) Assert.Equal(200, await ChatAsync(gw, "chat"));
        good.Enqueue(FakeBehavior.Status(400, "bad request"));
        Assert.Equal(400, await ChatAsync(gw, "chat"));
        for (var i = 0; i < 2; i++) Assert.NotEqual(200, await ChatAsync(gw, "broken"));

        var overview = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/overview?hours=3");
        var total = overview.GetProperty("total");
        Assert.Equal((8, 2, 1), (total.GetProperty("requests").GetInt32(), total.GetProperty("errors").GetInt32(), total.GetProperty("client_errors").GetInt32()));
        Assert.Equal(2.0 / 7, total.GetProperty("error_rate").GetDouble(), 3);
        Assert.Equal(3, overview.GetProperty("hours").GetArrayLength());
        Assert.Equal(8, overview.GetProperty("hours").EnumerateArray().Sum(h => h.GetProperty("requests").GetInt32()));
        var spend = await gw.AdminAsync(HttpMethod.Get, "/admin/spend");
        var usd = spend.GetProperty("totals").EnumerateArray().Single(t => t.GetProperty("currency").GetString() == "USD").GetProperty("cost").GetString();
        Assert.Equal(usd, total.GetProperty("spend").EnumerateArray().Single().GetProperty("cost").GetString());
        Assert.True(total.GetProperty("latency_p95_ms").GetDouble() >= total.GetProperty("latency_p50_ms").GetDouble());

        var sla = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/sla?by=provider&days=2");
        var groups = sla.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("group").GetString()!, g => g.GetProperty("total"));
        // good: 5 answered, 1 client error left out → 100 %; bad: 0 of 2.
        Assert.Equal((6, 1, 0, 1.0), (groups["good"].GetProperty("requests").GetInt32(), groups["good"].GetProperty("client_errors").GetInt32(),
            groups["good"].GetProperty("vendor_failures").GetInt32(), groups["good"].GetProperty("availability").GetDouble()));
        Assert.Equal((2, 0.0), (groups["bad"].GetProperty("vendor_failures").GetInt32(), groups["bad"].GetProperty("availability").GetDouble()));
        Assert.Equal(2, groups["bad"].GetProperty("failures").EnumerateObject().Sum(p => p.Value.GetInt32()));
        var today = sla.GetProperty("groups").EnumerateArray().First(g => g.GetProperty("group").GetString() == "good").GetProperty("days").EnumerateArray().Last();
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), today.GetProperty("day").GetString());
        Assert.Equal(6, today.GetProperty("requests").GetInt32());

        using var badBy = await gw.Http.GetAsync("/admin/stats/sla?by=colour");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, badBy.StatusCode);
    }

    [Fact]
    public async Task Usage_ranks_groups_by_this_week_and_calls_a_larger_share_than_last_week_rising()
    {
        await using var good = await FakeOpenAiServer.StartAsync();
        await using var bad = await FakeOpenAiServer.StartAsync();
        await using var gw = await StartAsync(good, bad);
        for (var i = 0; i < 3; i++) Assert.Equal(200, await ChatAsync(gw, "chat"));
        Assert.Equal(200, await ChatAsync(gw, "broken"));
        // Last week: "legacy" 9 rows, "chat" 1 row (10 % share); this week chat has 3 of 4 (75 %), broken 1 (new).
        var lastWeek = DateTimeOffset.UtcNow.AddDays(-10);
        await gw.Service<ILedgerStore>().AppendAsync([.. Enumerable.Range(0, 10).Select(i => new LedgerEntry
        {
            RequestId = $"old-{i}", Timestamp = lastWeek.AddMinutes(i), Endpoint = "/v1/chat/completions",
            Model = i < 9 ? "legacy" : "chat", Provider = "good", Status = 200, LatencyMs = 50,
        })], CancellationToken.None);

        var usage = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/usage?by=model&period=week&periods=4");
        var groups = usage.GetProperty("groups").EnumerateArray().ToList();
        Assert.Equal(["chat", "broken", "legacy"], groups.Select(g => g.GetProperty("group").GetString()));
        JsonElement G(string name) => groups.Single(g => g.GetProperty("group").GetString() == name);
        Assert.Equal((3, 1, 0.75, 0.1, 65.0, "rising"), (G("chat").GetProperty("requests").GetInt32(), G("chat").GetProperty("previous_requests").GetInt32(),
            G("chat").GetProperty("share").GetDouble(), G("chat").GetProperty("previous_share").GetDouble(), G("chat").GetProperty("change_points").GetDouble(), G("chat").GetProperty("trend").GetString()));
        Assert.Equal("new", G("broken").GetProperty("trend").GetString());
        Assert.Equal(("falling", -90.0), (G("legacy").GetProperty("trend").GetString(), G("legacy").GetProperty("change_points").GetDouble()));
        Assert.Equal(4, G("chat").GetProperty("periods").GetArrayLength());

        var byProvider = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/usage?by=provider&period=day&periods=14");
        var goodRow = byProvider.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "good");
        Assert.Equal(13, goodRow.GetProperty("periods").EnumerateArray().Sum(p => p.GetProperty("requests").GetInt32()));
        using var bad400 = await gw.Http.GetAsync("/admin/stats/usage?period=month");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad400.StatusCode);
    }

    [Fact]
    public async Task Usage_leaves_evaluation_traffic_out_unless_asked_while_overview_and_sla_count_it()
    {
        await using var good = await FakeOpenAiServer.StartAsync();
        await using var bad = await FakeOpenAiServer.StartAsync();
        await using var gw = await StartAsync(good, bad);
        var (_, evaluation) = await gw.CreateKeyAsync(new { name = "compare", scopes = new[] { "evaluation" } });
        // Production: two calls to "chat"; a compare run: six calls to "broken" (answered: it is the candidate under test).
        for (var i = 0; i < 2; i++) Assert.Equal(200, await ChatAsync(gw, "chat"));
        for (var i = 0; i < 6; i++) Assert.Equal(200, await ChatAsync(gw, "broken", evaluation));

        static Dictionary<string, int> Requests(JsonElement usage) =>
            usage.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("group").GetString()!, g => g.GetProperty("requests").GetInt32());
        var production = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/usage?by=model&period=week&periods=2");
        Assert.Equal("false", production.GetProperty("evaluation").GetString());
        Assert.Equal(new Dictionary<string, int> { ["chat"] = 2 }, Requests(production));
        Assert.Equal(1.0, production.GetProperty("groups")[0].GetProperty("share").GetDouble());
        var all = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/usage?by=model&period=week&periods=2&evaluation=any");
        Assert.Equal(new Dictionary<string, int> { ["broken"] = 6, ["chat"] = 2 }, Requests(all));
        Assert.Equal("broken", all.GetProperty("groups")[0].GetProperty("group").GetString());
        var onlyEvaluation = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/usage?by=model&period=week&periods=2&evaluation=true");
        Assert.Equal(new Dictionary<string, int> { ["broken"] = 6 }, Requests(onlyEvaluation));

        var overview = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/overview?hours=2");
        Assert.Equal(("any", 8), (overview.GetProperty("evaluation").GetString(), overview.GetProperty("total").GetProperty("requests").GetInt32()));
        var overviewProduction = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/overview?hours=2&evaluation=false");
        Assert.Equal(2, overviewProduction.GetProperty("total").GetProperty("requests").GetInt32());
        var sla = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/sla?by=provider&days=1");
        Assert.Equal(["bad", "good"], sla.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("group").GetString()).Order());
        var slaProduction = await gw.AdminAsync(HttpMethod.Get, "/admin/stats/sla?by=provider&days=1&evaluation=false");
        Assert.Equal(["good"], slaProduction.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("group").GetString()));
        var requests = await gw.AdminAsync(HttpMethod.Get, "/admin/requests?evaluation=any&limit=100");
        Assert.Equal(8, requests.GetProperty("data").GetArrayLength());

        foreach (var path in new[] { "/admin/stats/usage?evaluation=maybe", "/admin/stats/overview?evaluation=maybe", "/admin/stats/sla?evaluation=maybe", "/admin/requests?evaluation=maybe" })
        {
            using var refused = await gw.Http.GetAsync(path);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("evaluation", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }
}
