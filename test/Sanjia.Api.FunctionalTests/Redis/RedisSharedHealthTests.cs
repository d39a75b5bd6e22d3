using System.Diagnostics;
using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Core.Routing.Health;
using Sanjia.Redis;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Redis;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>
/// Breakers and cool-downs shared through one Redis (decision 0006): gateways in this process, each with its own
/// SQLite data folder and its own multiplexer, in front of two fake vendors behind one alias.
/// </summary>
public sealed class RedisSharedHealthTests(ITestOutputHelper output)
{
    private static string[] Args(RedisServer redis, FakeOpenAiServer a, FakeOpenAiServer b, string prefix) =>
    [
        .. GatewayServer.FastRetries,
        .. GatewayServer.Provider("a", a.BaseUrl, a.ApiKey),
        .. GatewayServer.Provider("b", b.BaseUrl, b.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        .. GatewayServer.Deployment("chat", 1, "b", "m2"),
        "--Sanjia:Routing:Health:ConsecutiveFailures=2",
        "--Sanjia:Routing:Health:BreakSeconds=4",
        .. RedisFixture.GatewayArgs(redis, prefix),
    ];

    private static async Task<string> RouteAsync(GatewayServer gw)
    {
        using var r = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return r.Get("x-sanjia-route")!;
    }

    /// <summary>How long until <paramref name="gw"/>'s admin view shows a/m1's breaker as <paramref name="breaker"/> (fails after 10 s).</summary>
    private static async Task<TimeSpan> UntilBreakerAsync(GatewayServer gw, string breaker)
    {
        var watch = Stopwatch.StartNew();
        while ((await gw.DeploymentAsync("a/m1")).GetProperty("breaker").GetString() != breaker)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"a/m1's breaker is not {breaker} after 10 s");
            await Task.Delay(10);
        }
        return watch.Elapsed;
    }

    [SkippableFact]
    public async Task A_breaker_opened_by_one_gateway_keeps_the_others_away_and_one_probe_closes_it_for_all()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(500, "broken"));
        await using var one = await GatewayServer.StartWithArgsAsync(Args(redis, a, b, "breaker"));
        await using var two = await GatewayServer.StartWithArgsAsync(Args(redis, a, b, "breaker"));

        // Two failures on the first gateway open its breaker; the second has never called the vendor.
        Assert.Equal("a/m1(500) -> b/m2(ok)", await RouteAsync(one));
        Assert.Equal("a/m1(500) -> b/m2(ok)", await RouteAsync(one));
        Assert.Equal("open", (await one.DeploymentAsync("a/m1")).GetProperty("breaker").GetString());
        var learnt = await UntilBreakerAsync(two, "open");
        output.WriteLine($"breaker opened on one gateway, seen open by the other after {learnt.TotalMilliseconds:0} ms (polling /admin/deployments)");
        Assert.True(learnt < TimeSpan.FromSeconds(2), $"{learnt}");
        Assert.Equal("a/m1(open) -> b/m2(ok)", await RouteAsync(two));
        Assert.Equal(2, a.Requests.Count); // the second gateway never tried the broken vendor

        // A gateway started while the breaker is open reads it from Redis before serving.
        await using (var late = await GatewayServer.StartWithArgsAsync(Args(redis, a, b, "breaker")))
        {
            Assert.Equal("a/m1(open) -> b/m2(ok)", await RouteAsync(late));
        }
        Assert.Equal(2, a.Requests.Count);

        // The vendor recovers. After the break the first gateway sends its probe; its success closes the breaker on
        // the second as well, which then routes to the vendor without a probe of its own.
        a.SetDefault(FakeBehavior.Default);
        var openUntil = (await one.DeploymentAsync("a/m1")).GetProperty("open_until").GetDateTimeOffset();
        var wait = openUntil - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        Assert.Equal("a/m1(ok)", await RouteAsync(one));
        await UntilBreakerAsync(two, "closed");
        Assert.Equal("a/m1(ok)", await RouteAsync(two));
        Assert.Equal(4, a.Requests.Count);
    }

    [SkippableFact]
    public async Task A_vendors_retry_after_seen_by_one_gateway_cools_the_deployment_on_the_others_with_the_vendors_error()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "30" }));
        await using var one = await GatewayServer.StartWithArgsAsync(Args(redis, a, b, "cooling"));
        await using var two = await GatewayServer.StartWithArgsAsync(Args(redis, a, b, "cooling"));

        Assert.Equal("a/m1(429) -> b/m2(ok)", await RouteAsync(one));
        var watch = Stopwatch.StartNew();
        while ((await two.DeploymentAsync("a/m1")).GetProperty("state").GetString() != "cooling_down")
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "not cooling on the second gateway after 10 s");
            await Task.Delay(10);
        }
        output.WriteLine($"cool-down started on one gateway, seen by the other after {watch.Elapsed.TotalMilliseconds:0} ms");
        var until = (await two.DeploymentAsync("a/m1")).GetProperty("cooling_until").GetDateTimeOffset();
        Assert.InRange(until - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(31));
        Assert.Equal("a/m1(cooling) -> b/m2(ok)", await RouteAsync(two));
        Assert.Single(a.Requests);
    }

    [Fact]
    public void A_change_reads_back_as_it_was_written_with_the_vendors_error()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_123);
        var cause = new Sanjia.Abstractions.GatewayError(Sanjia.Abstractions.GatewayErrorKind.RateLimited, "slow\tdown\nplease")
        {
            Code = "rate_limit_exceeded", UpstreamStatus = 429, RetryAfter = TimeSpan.FromSeconds(30),
        };
        var back = RedisHealthFeed.Parse(RedisHealthFeed.Format(new HealthChange("a/m1", HealthChangeKind.Cooling, at, cause)));
        Assert.NotNull(back);
        Assert.Equal(("a/m1", HealthChangeKind.Cooling, at), (back.Deployment, back.Kind, back.At));
        Assert.Equal(cause with { Message = "slow down please" }, back.Cause);
        var open = RedisHealthFeed.Parse(RedisHealthFeed.Format(new HealthChange("b/m2", HealthChangeKind.Opened, at, null)));
        Assert.Equal(new HealthChange("b/m2", HealthChangeKind.Opened, at, null), open);
        Assert.Null(RedisHealthFeed.Parse("garbage"));
    }
}
