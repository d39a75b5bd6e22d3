using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>
/// Shadow testing against fake vendors: alias <c>chat</c> = vendor a (<c>a/m1</c>), candidate vendor b (<c>b/m2</c>),
/// embeddings from a third fake so the vendors' request counts are only chat calls.
/// </summary>
public sealed class ShadowTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;
    private FakeOpenAiServer _e = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync();
        _b = await FakeOpenAiServer.StartAsync();
        _e = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _e.DisposeAsync();
    }

    private Task<GatewayServer> StartAsync(bool shadow, params string[] extra) => GatewayServer.StartWithArgsAsync(
    [
        .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Provider("e", _e.BaseUrl, _e.ApiKey),
        "--Sanjia:Providers:e:EmbeddingModels:0=text-embedding-3-small",
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        .. shadow ? new[]
        {
            "--Sanjia:Shadow:chat:Candidate=b/m2",
            "--Sanjia:Shadow:chat:Fraction=1",
            "--Sanjia:Shadow:chat:EmbeddingModel=e/text-embedding-3-small",
        } : [],
        .. extra,
    ]);

    private static async Task<JsonNode> WaitForAsync(GatewayServer gw, Func<JsonNode, bool> done, string query = "")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var (response, body) = await gw.GetAsync("/admin/shadow/chat" + query);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (done(body!)) return body!;
            Assert.True(DateTime.UtcNow < deadline, "shadow did not settle: " + body!.ToJsonString());
            await Task.Delay(50);
        }
    }

    private static long Counter(JsonNode shadow, string name) => shadow["counters"]![name]!.GetValue<long>();

    [Fact]
    public async Task Shadow_traffic_leaves_the_callers_answers_alone_and_stores_one_graded_pair_per_request()
    {
        await using var gw = await StartAsync(shadow: true);

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var (response, text, deployment) = await gw.ChatAsync("chat", $"question {i}", stream: i % 2 == 1);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("a/m1", deployment);
            if (i % 2 == 0) Assert.Equal("Hello from m1", text);
            else Assert.Contains("Hello", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            ids.Add(response.Headers.GetValues("x-request-id").Single());
        }
        var shadow = await WaitForAsync(gw, s => Counter(s, "completed") == 6, "?pairs=true");

        Assert.Equal(0, Counter(shadow, "dropped"));
        var pairs = shadow["data"]!.AsArray();
        Assert.Equal(ids.Order(), pairs.Select(p => p!["requestId"]!.GetValue<string>()).Order());
        foreach (var p in pairs)
        {
            Assert.Equal("Hello from m1", p!["primaryText"]!.GetValue<string>());
            Assert.Equal("Hello from m2", p["candidateText"]!.GetValue<string>());
            Assert.Equal("b/m2", p["candidateDeployment"]!.GetValue<string>());
            var score = p["score"]!.GetValue<double>();
            Assert.InRange(score, 0, 1);
        }
        // Every shadow copy went to b non-streaming, with the caller's own messages.
        Assert.Equal(6, _b.Requests.Count);
        Assert.All(_b.Requests, r => Assert.NotEqual(true, JsonNode.Parse(r.BodyText)!["stream"]?.GetValue<bool>()));
        Assert.Equal(6, _a.Requests.Count);

        var report = shadow["report"]!;
        Assert.Equal("chat", report["baseline"]!.GetValue<string>());
        Assert.Equal(6, report["cases"]!.GetValue<int>());
        Assert.Equal("b/m2", report["comparisons"]![0]!["candidate"]!.GetValue<string>());
        var html = await gw.Http.GetStringAsync("/admin/shadow/chat/report.html");
        Assert.Contains("<svg", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shadow_pairs_carry_the_real_cost_of_both_sides_where_the_models_are_priced()
    {
        await using var gw = await StartAsync(shadow: true,
            "--Sanjia:Metering:Prices:a/m1:Currency=USD", "--Sanjia:Metering:Prices:a/m1:Input=1000", "--Sanjia:Metering:Prices:a/m1:Output=2000",
            "--Sanjia:Metering:Prices:b/m2:Currency=USD", "--Sanjia:Metering:Prices:b/m2:Input=300", "--Sanjia:Metering:Prices:b/m2:Output=400");

        for (var i = 0; i < 2; i++)
        {
            var (response, _, _) = await gw.ChatAsync("chat", $"priced question {i}", stream: i == 1);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var shadow = await WaitForAsync(gw, s => Counter(s, "completed") == 2, "?pairs=true");

        foreach (var p in shadow["data"]!.AsArray())
        {
            static decimal Expected(JsonNode p, string side, decimal input, decimal output) =>
                ((p[side + "InputTokens"]!.GetValue<int>() * input) + (p[side + "OutputTokens"]!.GetValue<int>() * output)) / 1_000_000m;
            Assert.True(p!["primaryInputTokens"]!.GetValue<int>() > 0);
            Assert.Equal(Expected(p, "primary", 1000, 2000), p["primaryCost"]!.GetValue<decimal>());
            Assert.Equal("USD", p["primaryCurrency"]!.GetValue<string>());
            Assert.Equal(Expected(p, "candidate", 300, 400), p["candidateCost"]!.GetValue<decimal>());
            Assert.Equal("USD", p["candidateCurrency"]!.GetValue<string>());
        }
        var html = await gw.Http.GetStringAsync("/admin/shadow/chat/report.html");
        Assert.DoesNotContain("unpriced", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Caller_latency_with_shadowing_on_matches_latency_with_it_off()
    {
        // The candidate is slow: if shadowing were on the caller's path, every call would take at least this long.
        var candidateDelay = TimeSpan.FromMilliseconds(600);
        _b.SetDefault(FakeBehavior.DelayBeforeHeaders(candidateDelay));

        async Task<double> MedianAsync(GatewayServer gw)
        {
            await gw.ChatAsync("chat"); // warm-up: connections, JIT
            var times = new List<double>();
            for (var i = 0; i < 40; i++)
            {
                var watch = Stopwatch.StartNew();
                var (response, _, _) = await gw.ChatAsync("chat", $"q{i}");
                times.Add(watch.Elapsed.TotalMilliseconds);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            times.Sort();
            return (times[19] + times[20]) / 2;
        }

        double off, on;
        await using (var gw = await StartAsync(shadow: false)) off = await MedianAsync(gw);
        await using (var gw = await StartAsync(shadow: true, "--Sanjia:Shadow:chat:QueueSize=100"))
        {
            on = await MedianAsync(gw);
            var shadow = await WaitForAsync(gw, s => Counter(s, "enqueued") > 0);
            Assert.True(Counter(shadow, "enqueued") + Counter(shadow, "dropped") == 41);
        }

        Assert.True(on < off + candidateDelay.TotalMilliseconds / 2, $"median with shadow {on:F1} ms, without {off:F1} ms");
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_copies_and_never_holds_more_than_its_size()
    {
        _b.SetDefault(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(20)));
        await using var gw = await StartAsync(shadow: true, "--Sanjia:Shadow:chat:QueueSize=2");

        for (var i = 0; i < 15; i++)
        {
            var (response, text, _) = await gw.ChatAsync("chat", $"q{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Hello from m1", text);
        }
        var shadow = await WaitForAsync(gw, s => Counter(s, "enqueued") + Counter(s, "dropped") == 15);

        // One copy in flight at the slow candidate, at most two waiting; the rest dropped.
        Assert.InRange(Counter(shadow, "enqueued"), 1, 3);
        Assert.InRange(Counter(shadow, "dropped"), 12, 14);
        Assert.InRange(shadow["counters"]!["queued"]!.GetValue<int>(), 0, 2);
        Assert.InRange(_b.Requests.Count, 0, 1);
    }

    [Fact]
    public async Task The_hourly_cap_limits_copies_and_counts_the_rest()
    {
        await using var gw = await StartAsync(shadow: true, "--Sanjia:Shadow:chat:MaxRequestsPerHour=2");

        for (var i = 0; i < 5; i++) await gw.ChatAsync("chat", $"q{i}");
        var shadow = await WaitForAsync(gw, s => Counter(s, "completed") == 2 && Counter(s, "capped") == 3);

        Assert.Equal(2, shadow["pairs"]!.GetValue<int>());
        Assert.Equal(2, _b.Requests.Count);
    }

    [Fact]
    public async Task A_bad_shadow_setting_stops_start_up_naming_the_key()
    {
        var e = await Assert.ThrowsAsync<Core.Configuration.ConfigurationException>(() => StartAsync(shadow: false, "--Sanjia:Shadow:chat:Fraction=2"));
        Assert.Contains(e.Errors, m => m.StartsWith("Sanjia:Shadow:chat:Candidate", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("Sanjia:Shadow:chat:Fraction", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_alias_without_shadow_is_404()
    {
        await using var gw = await StartAsync(shadow: false);
        var (response, error) = await gw.GetAsync("/admin/shadow/chat");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("shadow_not_configured", error!["error"]!["code"]!.GetValue<string>());
    }
}
