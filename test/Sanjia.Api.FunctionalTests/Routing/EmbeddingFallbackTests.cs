using System.Net;
using System.Net.Http.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>An embeddings answer cut mid-body is an upstream failure: fallback, or 502, and a ledger row either way (it was a 500 with no row).</summary>
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
}
