using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>Promotion moves an alias's traffic at run time, and the move survives a config reload and a restart.</summary>
public sealed class PromotionTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _b = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private string[] Settings =>
    [
        .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
    ];

    [Fact]
    public async Task After_promote_the_alias_goes_to_the_new_deployment_without_client_changes()
    {
        var root = GatewayServer.NewDataDir();
        try
        {
            var gw = await GatewayServer.StartInAsync(root, Settings);
            Assert.Equal("a/m1", (await gw.ChatAsync("chat")).Deployment);

            var (promoted, body) = await gw.PostAsync("/admin/aliases/chat/promote", new { provider = "b", model = "m2" });

            Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
            Assert.Equal("b/m2", body!["deployments"]![0]!.GetValue<string>());
            Assert.Equal("a/m1", body["deployments"]![1]!.GetValue<string>()); // the old first choice stays as fallback
            var (_, text, deployment) = await gw.ChatAsync("chat");
            Assert.Equal("b/m2", deployment);
            Assert.Equal("Hello from m2", text);

            // A config reload re-reads the files, which still list a/m1 first: the promotion is applied over them.
            Assert.Empty(await gw.Service<ConfigReloader>().ReloadAsync());
            Assert.Equal("b/m2", (await gw.ChatAsync("chat")).Deployment);

            await gw.StopAsync();
            gw = await GatewayServer.StartInAsync(root, Settings);
            Assert.Equal("b/m2", (await gw.ChatAsync("chat")).Deployment);
            var (_, aliases) = await gw.GetAsync("/admin/aliases");
            Assert.Equal("m2", aliases!["data"]![0]!["promoted"]!["model"]!.GetValue<string>());

            var (reverted, _) = await gw.DeleteAsync("/admin/aliases/chat/promote");
            Assert.Equal(HttpStatusCode.OK, reverted.StatusCode);
            Assert.Equal("a/m1", (await gw.ChatAsync("chat")).Deployment);
            await gw.StopAsync();
        }
        finally
        {
            GatewayServer.DeleteDataDir(root);
        }
    }

    [Fact]
    public async Task Streams_in_flight_when_the_alias_is_promoted_finish_on_their_deployment()
    {
        _a.Enqueue(FakeBehavior.StreamChunks(20, TimeSpan.FromMilliseconds(50)));
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { model = "chat", stream = true, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        using var stream = await gw.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var promote = await gw.PostAsync("/admin/aliases/chat/promote", new { provider = "b", model = "m2" });
        Assert.Equal(HttpStatusCode.OK, promote.Response.StatusCode);
        var text = await stream.Content.ReadAsStringAsync();

        Assert.Equal("a/m1", stream.Headers.GetValues("x-sanjia-deployment").Single());
        Assert.Contains("[DONE]", text, StringComparison.Ordinal);
        Assert.Equal("b/m2", (await gw.ChatAsync("chat")).Deployment);
    }

    [Theory]
    [InlineData("nope", """{"provider":"b","model":"m2"}""", 404, "alias_not_found")]
    [InlineData("chat", """{"provider":"zzz","model":"m2"}""", 400, "invalid_deployment")]
    [InlineData("chat", """{"model":"m2"}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"typo-model"}""", 400, "invalid_deployment")]
    public async Task A_bad_promotion_is_refused_and_changes_nothing(string alias, string body, int status, string code)
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);

        var (response, error) = await gw.PostAsync($"/admin/aliases/{alias}/promote", body);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, error!["error"]!["code"]!.GetValue<string>());
        if (status == 404)
        {
            Assert.Equal("Nothing was promoted: no alias named 'nope' is configured (aliases come from the configuration, Sanjia:Models; GET /admin/aliases lists them).",
                error["error"]!["message"]!.GetValue<string>());
        }
        if (body.Contains("typo-model", StringComparison.Ordinal))
        {
            // The vendor's own GET /models does not list it: every request to the alias would have been a 404.
            Assert.Contains("'b/typo-model' does not exist", error["error"]!["message"]!.GetValue<string>());
            Assert.Contains(_b.Requests, r => r.Path.EndsWith("/models", StringComparison.Ordinal));
        }
        Assert.Equal("a/m1", (await gw.ChatAsync("chat")).Deployment);
    }

    [Fact]
    public async Task Promoting_an_embedding_model_to_a_chat_alias_is_refused_with_a_message_that_reads_right()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync([.. Settings, "--Sanjia:Providers:b:EmbeddingModels:0=text-embedding-3-small"]);

        var (response, error) = await gw.PostAsync("/admin/aliases/chat/promote", new { provider = "b", model = "text-embedding-3-small" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_deployment", error!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("'b/text-embedding-3-small' is an embedding model but alias 'chat' serves chat models.", error["error"]!["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null, "priority")]
    [InlineData("--Sanjia:Routing:DefaultStrategy=least-busy", "least-busy")]
    [InlineData("--Sanjia:Models:chat:Strategy=weighted", "weighted")]
    public async Task The_aliases_list_shows_the_strategy_the_router_applies_before_any_promotion(string? setting, string expected)
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(setting is null ? Settings : [.. Settings, setting]);

        var (_, aliases) = await gw.GetAsync("/admin/aliases");

        Assert.Equal(expected, aliases!["data"]![0]!["strategy"]!.GetValue<string>());
    }
}
