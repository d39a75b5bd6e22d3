using System.Net;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>
/// A shadow's spend budget shared by two gateways through one Redis: alias <c>chat</c> = vendor a, candidate vendor b,
/// grading embeddings from e (as in <c>ShadowBudgetTests</c>), every request shadowed.
/// </summary>
public sealed class RedisShadowBudgetTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Two_gateways_share_one_shadow_budget_and_together_never_spend_more_than_it()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        await using var e = await FakeOpenAiServer.StartAsync();
        // Each candidate call costs about 0.40 USD and its worst case the same: 1 USD covers two calls in all.
        b.SetDefault(FakeBehavior.Reply("Hello from m2", promptTokens: 5, completionTokens: 1000));
        string[] Args() =>
        [
            .. GatewayServer.Provider("a", a.BaseUrl, a.ApiKey),
            .. GatewayServer.Provider("b", b.BaseUrl, b.ApiKey),
            .. GatewayServer.Provider("e", e.BaseUrl, e.ApiKey),
            "--Sanjia:Providers:e:EmbeddingModels:0=text-embedding-3-small",
            .. GatewayServer.Deployment("chat", 0, "a", "m1"),
            "--Sanjia:Shadow:chat:Candidate=b/m2", "--Sanjia:Shadow:chat:Fraction=1", "--Sanjia:Shadow:chat:EmbeddingModel=e/text-embedding-3-small",
            "--Sanjia:Metering:Prices:a/m1:Currency=USD", "--Sanjia:Metering:Prices:a/m1:Input=1000", "--Sanjia:Metering:Prices:a/m1:Output=2000",
            "--Sanjia:Metering:Prices:e/text-embedding-3-small:Currency=USD", "--Sanjia:Metering:Prices:e/text-embedding-3-small:Input=1000", "--Sanjia:Metering:Prices:e/text-embedding-3-small:Output=0",
            "--Sanjia:Metering:Prices:b/m2:Currency=USD", "--Sanjia:Metering:Prices:b/m2:Input=300", "--Sanjia:Metering:Prices:b/m2:Output=400",
            "--Sanjia:Metering:Prices:b/m2:MaxOutputTokens=1000",
            "--Sanjia:Shadow:chat:Budget:Amount=1", "--Sanjia:Shadow:chat:Budget:Currency=USD", "--Sanjia:Shadow:chat:Budget:Period=daily",
            .. RedisFixture.GatewayArgs(redis, "shadow"),
        ];
        await using var one = await GatewayServer.StartWithArgsAsync(Args());
        await using var two = await GatewayServer.StartWithArgsAsync(Args());

        for (var i = 0; i < 6; i++)
        {
            var (response, text, _) = await (i % 2 == 0 ? one : two).ChatAsync("chat", $"question {i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Hello from m1", text);
        }
        long Done(JsonNode s) => Counter(s, "completed") + Counter(s, "skipped_budget") + Counter(s, "failed");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonNode s1, s2;
        while (true)
        {
            s1 = (await one.GetAsync("/admin/shadow/chat")).Body!;
            s2 = (await two.GetAsync("/admin/shadow/chat")).Body!;
            if (Done(s1) == 3 && Done(s2) == 3 && s1["budget"]!["reserved"]!.GetValue<decimal>() == 0m) break;
            Assert.True(DateTime.UtcNow < deadline, "shadow did not settle: " + s1.ToJsonString() + s2.ToJsonString());
            await Task.Delay(50);
        }
        var completed = Counter(s1, "completed") + Counter(s2, "completed");
        var spent = s1["budget"]!["spent"]!.GetValue<decimal>();
        output.WriteLine($"6 shadowed requests over two gateways, one 1 USD budget: {completed} candidate calls, " +
            $"{Counter(s1, "skipped_budget") + Counter(s2, "skipped_budget")} skipped; spent {spent} USD (as both report it)");
        Assert.Equal(2, completed); // an instance each would have allowed two each
        Assert.Equal(2, b.Requests.Count);
        Assert.Equal(spent, s2["budget"]!["spent"]!.GetValue<decimal>());
        Assert.InRange(spent, 0.8m, 1m);
    }

    private static long Counter(JsonNode shadow, string name) => shadow["counters"]![name]!.GetValue<long>();
}
