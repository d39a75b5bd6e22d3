using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>End to end as a new user tries it: three vendors behind one alias, a local model as the last link, breakers, cancellation, reload.</summary>
public sealed class ResilienceTests
{
    /// <summary>Every routing test wants short backoff so retries take milliseconds, not seconds.</summary>
    private static Task<GatewayServer> StartGatewayAsync(params string[] settings) => GatewayServer.StartWithArgsAsync([.. GatewayServer.FastRetries, .. settings]);

    [Fact]
    public async Task Three_vendors_behind_one_alias_and_the_local_model_answers_when_all_three_fail()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        var unreachable = FakeOpenAiServer.GetUnreachableBaseUrl();
        a.SetDefault(FakeBehavior.Status(503, "overloaded"));
        b.SetDefault(FakeBehavior.Status(429, "quota", new Dictionary<string, string> { ["Retry-After"] = "60" }));
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", a.BaseUrl, a.ApiKey),
            .. GatewayServer.Provider("b", b.BaseUrl, b.ApiKey),
            .. GatewayServer.Provider("c", unreachable, "sk-c"),
            .. GatewayServer.Deployment("chat-default", 0, "a", "m1"),
            .. GatewayServer.Deployment("chat-default", 1, "b", "m2"),
            .. GatewayServer.Deployment("chat-default", 2, "c", "m3"),
            .. GatewayServer.Deployment("chat-default", 3, "local", "stories260K"),
            $"--Sanjia:ModelFiles:0={TestModel.Path}",
            "--Sanjia:Routing:Retry:MaxAttempts=4",
        ]);

        using var response = await gw.SendAsync(GatewayServer.Chat("chat-default", stream: true, "Once upon a time", maxTokens: 8));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("local/stories260K", response.Get("x-sanjia-deployment"));
        Assert.Equal("a/m1(503) -> b/m2(429) -> c/m3(unreachable) -> local/stories260K(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("3", response.Get("x-sanjia-fallbacks"));
        Assert.True(sse.Done);
        Assert.False(string.IsNullOrWhiteSpace(sse.Text));

        // With one vendor healthy again, it answers first and the others are not needed.
        a.SetDefault(FakeBehavior.Default);
        using var healthy = await gw.SendAsync(GatewayServer.Chat("chat-default", stream: false));
        Assert.Equal("a/m1", healthy.Get("x-sanjia-deployment"));
    }

    [Fact]
    public async Task Repeated_failures_open_the_breaker_the_admin_view_shows_it_and_a_probe_readmits_the_vendor()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(500, "broken"));
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", a.BaseUrl, a.ApiKey),
            .. GatewayServer.Provider("b", b.BaseUrl, b.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1"),
            .. GatewayServer.Deployment("chat", 1, "b", "m2"),
            "--Sanjia:Routing:Health:ConsecutiveFailures=2",
            "--Sanjia:Routing:Health:BreakSeconds=1",
        ]);

        for (var i = 0; i < 2; i++)
        {
            using var r = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        var ejected = await gw.DeploymentAsync("a/m1");
        Assert.Equal("open", ejected.GetProperty("breaker").GetString());
        Assert.Equal("ejected", ejected.GetProperty("state").GetString());
        Assert.Equal(2, ejected.GetProperty("failures").GetInt32());
        Assert.Equal("closed", (await gw.DeploymentAsync("b/m2")).GetProperty("breaker").GetString());

        using (var skipped = await gw.SendAsync(GatewayServer.Chat("chat", stream: false)))
        {
            Assert.Equal("a/m1(open) -> b/m2(ok)", skipped.Get("x-sanjia-route"));
        }
        Assert.Equal(2, a.Requests.Count);

        // After the break, one probe goes through; the vendor has recovered, so it is re-admitted.
        a.SetDefault(FakeBehavior.Default);
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        using (var probe = await gw.SendAsync(GatewayServer.Chat("chat", stream: false)))
        {
            Assert.Equal("a/m1(ok)", probe.Get("x-sanjia-route"));
        }
        Assert.Equal("closed", (await gw.DeploymentAsync("a/m1")).GetProperty("breaker").GetString());
    }

    [Fact]
    public async Task The_admin_view_needs_a_key()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var gw = await StartGatewayAsync([.. GatewayServer.Provider("a", a.BaseUrl, a.ApiKey), .. GatewayServer.Deployment("chat", 0, "a", "m1")]);
        using var anonymous = new HttpClient { BaseAddress = gw.Http.BaseAddress };

        using var response = await anonymous.GetAsync("/admin/deployments");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var row = await gw.DeploymentAsync("a/m1");
        Assert.Equal(0, row.GetProperty("in_flight").GetInt32());
        Assert.Equal(JsonValueKind.Array, row.GetProperty("aliases").ValueKind);
    }

    [Fact]
    public async Task Fifty_streams_dropped_at_random_points_cancel_every_upstream_call_and_release_every_slot()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.StreamChunks(200, TimeSpan.FromMilliseconds(20)));
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", a.BaseUrl, a.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1", "MaxConcurrentRequests=50"),
            "--Sanjia:Routing:Timeouts:FirstTokenSeconds=30",
        ]);
        var random = new Random(1234);
        var stopAfter = Enumerable.Range(0, 50).Select(_ => random.Next(1, 30)).ToArray();

        await Task.WhenAll(stopAfter.Select(async n =>
        {
            using var client = new HttpClient { BaseAddress = gw.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = gw.Http.DefaultRequestHeaders.Authorization;
            using var response = await client.SendAsync(GatewayServer.Chat("chat", stream: true), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var sse = await SseRead.ReadAsync(response, stopAfterEvents: n);
            Assert.Equal(n, sse.Events.Count);
            // Disposing the response (and its client) drops the connection mid-stream.
        }));

        var requests = await a.WaitForRequestsAsync(50, TimeSpan.FromSeconds(30));
        Assert.Equal(50, requests.Count);
        foreach (var r in requests)
        {
            Assert.True(await r.WaitForClientAbortAsync(TimeSpan.FromSeconds(10)), "an upstream stream kept running after its client left");
            Assert.True(r.ChunksSent < 200);
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int inFlight;
        while ((inFlight = (await gw.DeploymentAsync("a/m1")).GetProperty("in_flight").GetInt32()) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Equal(0, inFlight);
        // Every slot is free again: the full limit can be used at once.
        using var after = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_changed_config_file_is_swapped_in_without_dropping_a_stream_in_flight_and_an_invalid_one_is_rejected()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), $"sanjia-reload-{Guid.NewGuid():N}.json");
        string Config(string provider, string weight = "1") =>
            "{\"Sanjia\":{\"Providers\":{"
            + $"\"a\":{{\"BaseUrl\":\"{a.BaseUrl}\",\"ApiKey\":\"{a.ApiKey}\"}},"
            + $"\"b\":{{\"BaseUrl\":\"{b.BaseUrl}\",\"ApiKey\":\"{b.ApiKey}\"}}}},"
            + $"\"Models\":{{\"chat\":{{\"Deployments\":[{{\"Provider\":\"{provider}\",\"Model\":\"m\",\"Weight\":{weight}}}]}}}}}}}}";
        await File.WriteAllTextAsync(file, Config("a"));
        try
        {
            await using var gw = await StartGatewayAsync("--config", file);
            a.Enqueue(FakeBehavior.StreamChunks(10, TimeSpan.FromMilliseconds(150)));
            using var inFlight = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
            Assert.Equal("a/m", inFlight.Get("x-sanjia-deployment"));

            await File.WriteAllTextAsync(file, Config("b"));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            string? now = null;
            while (DateTime.UtcNow < deadline)
            {
                using var r = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
                now = r.Get("x-sanjia-deployment");
                if (now == "b/m") break;
                await Task.Delay(100);
            }
            Assert.Equal("b/m", now);
            var stream = await SseRead.ReadAsync(inFlight);
            Assert.True(stream.Done);
            Assert.Equal(10, stream.ContentChunks);

            await File.WriteAllTextAsync(file, Config("a", weight: "-1"));
            var errors = await gw.Service<ConfigReloader>().ReloadAsync();
            Assert.Contains(errors, e => e.StartsWith("Sanjia:Models:chat:Deployments:0:Weight", StringComparison.Ordinal));
            using var still = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
            Assert.Equal("b/m", still.Get("x-sanjia-deployment"));

            await File.WriteAllTextAsync(file, "{ not json");
            Assert.NotEmpty(await gw.Service<ConfigReloader>().ReloadAsync());
            using var stillAfterBrokenFile = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
            Assert.Equal("b/m", stillAfterBrokenFile.Get("x-sanjia-deployment"));

            // A misspelt key is refused as at start-up, with the key it meant; the running configuration stays.
            await File.WriteAllTextAsync(file, Config("a").Replace("\"Weight\"", "\"Wieght\"", StringComparison.Ordinal));
            Assert.Equal(["Sanjia:Models:chat:Deployments:0:Wieght: unknown setting. Did you mean 'Weight'?"], await gw.Service<ConfigReloader>().ReloadAsync());
            using var stillAfterTypo = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
            Assert.Equal("b/m", stillAfterTypo.Get("x-sanjia-deployment"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
