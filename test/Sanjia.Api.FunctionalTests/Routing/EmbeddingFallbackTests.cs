using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>
/// An embeddings answer cut mid-body is an upstream failure: fallback, or 502, and a ledger row either way (it was a
/// 500 with no row). Embeddings run through the same router as chat: retries, Retry-After cool-downs and breakers
/// apply to them too (they had their own loop, which tried each deployment once and knew none of these).
/// </summary>
public sealed class EmbeddingFallbackTests
{
    private static string[] Embedding(string provider, FakeOpenAiServer server) =>
    [
        .. GatewayServer.Provider(provider, server.BaseUrl, server.ApiKey),
        $"--Sanjia:Providers:{provider}:EmbeddingModels:0=text-embedding-3-small",
    ];

    [Fact]
    public async Task An_embeddings_body_cut_mid_read_falls_back_to_the_next_deployment_and_is_metered()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.Enqueue(FakeBehavior.DropAfterChunks(0));
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. Embedding("a", a), .. Embedding("b", b),
            .. GatewayServer.Deployment("embed", 0, "a", "text-embedding-3-small"),
            .. GatewayServer.Deployment("embed", 1, "b", "text-embedding-3-small"),
        ]);

        using var response = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "embed", input = "hello" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(a.Requests);
        Assert.Single(b.Requests);
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/embeddings");
        Assert.Equal(200, row.Status);
        Assert.Equal("b/text-embedding-3-small", row.Deployment);
        Assert.Equal(2, row.Attempt);
    }

    [Fact]
    public async Task An_embeddings_body_cut_mid_read_on_the_only_deployment_is_a_502_with_a_ledger_row()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.DropAfterChunks(0));
        await using var gw = await GatewayServer.StartWithArgsAsync([.. GatewayServer.FastRetries, .. Embedding("a", a)]);

        using var response = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "a/text-embedding-3-small", input = "hello" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream", await response.Content.ReadAsStringAsync());
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/embeddings");
        Assert.Equal(502, row.Status);
    }

    private static string[] TwoDeployments(FakeOpenAiServer a, FakeOpenAiServer b) =>
    [
        .. Embedding("a", a), .. Embedding("b", b),
        .. GatewayServer.Deployment("embed", 0, "a", "text-embedding-3-small"),
        .. GatewayServer.Deployment("embed", 1, "b", "text-embedding-3-small"),
    ];

    [Fact]
    public async Task Embeddings_cut_mid_body_on_every_deployment_are_a_502_in_openai_error_shape_with_a_ledger_row()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.DropAfterChunks(0));
        b.SetDefault(FakeBehavior.DropAfterChunks(0));
        await using var gw = await GatewayServer.StartWithArgsAsync([.. GatewayServer.FastRetries, .. TwoDeployments(a, b)]);

        using var response = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "embed", input = "hello" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("code", out _));
        Assert.True(error.TryGetProperty("param", out _));
        // Both deployments were tried, then retried after a backoff, within the one attempt budget (4 by default).
        Assert.Equal(2, a.Requests.Count);
        Assert.Equal(2, b.Requests.Count);
        var row = Assert.Single(await gw.LedgerAsync(1), r => r.Endpoint == "/v1/embeddings");
        Assert.Equal(502, row.Status);
        Assert.Equal(a.Requests.Count + b.Requests.Count, row.Attempt);
        Assert.NotNull(row.ErrorCode);
    }

    [Fact]
    public async Task An_embeddings_429_with_retry_after_cools_the_deployment_so_the_next_request_goes_straight_to_the_fallback()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "30" }));
        await using var gw = await GatewayServer.StartWithArgsAsync(TwoDeployments(a, b));

        using var first = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "embed", input = "hello" });
        using var second = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "embed", input = "hello again" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        // a asked for 30 s: the second request does not call it at all.
        Assert.Single(a.Requests);
        Assert.Equal(2, b.Requests.Count);
        var rows = (await gw.LedgerAsync(2)).Where(r => r.Endpoint == "/v1/embeddings").ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal((200, "b/text-embedding-3-small"), (r.Status, r.Deployment)));
        Assert.Equal([2, 1], rows.OrderBy(r => r.Timestamp).Select(r => r.Attempt));
    }

    [Fact]
    public async Task An_embeddings_retry_after_on_the_only_deployment_is_passed_on_and_the_vendor_left_alone()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(429, "quota", new Dictionary<string, string> { ["Retry-After"] = "30" }));
        await using var gw = await GatewayServer.StartWithArgsAsync(Embedding("a", a));

        using var first = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "a/text-embedding-3-small", input = "hello" });
        using var second = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "a/text-embedding-3-small", input = "hello" });

        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.InRange(int.Parse(second.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 30);
        Assert.Single(a.Requests); // the cool-down holds for embeddings as for chat
    }

    [Fact]
    public async Task Repeated_embeddings_failures_open_the_deployments_breaker()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(500, "boom"));
        await using var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. TwoDeployments(a, b),
            "--Sanjia:Routing:Health:ConsecutiveFailures=2",
            "--Sanjia:Routing:Health:BreakSeconds=60",
        ]);

        for (var i = 0; i < 4; i++)
        {
            using var response = await gw.Http.PostAsJsonAsync("/v1/embeddings", new { model = "embed", input = $"hello {i}" });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Two failures opened a's breaker; the later requests went to b without calling a.
        Assert.Equal(2, a.Requests.Count);
        Assert.Equal(4, b.Requests.Count);
    }
}
