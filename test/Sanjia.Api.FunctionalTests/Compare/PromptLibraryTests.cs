using System.Net;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>The prompt library over the admin API and <c>/v1/prompts/{id}/completions</c>, against two fake vendors.</summary>
public sealed class PromptLibraryTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;
    private GatewayServer _gw = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _b = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        ]);
    }

    public async Task DisposeAsync()
    {
        await _gw.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static object Capital => new
    {
        id = "capital",
        description = "Capital of a country",
        model = "chat",
        defaults = new { max_tokens = 20, temperature = 0 },
        messages = new object[]
        {
            new { role = "system", content = "Answer in one word." },
            new { role = "user", content = "What is the capital of {{ country }}?" },
        },
    };

    [Fact]
    public async Task A_prompt_is_created_versioned_listed_and_read_back()
    {
        var (created, body) = await _gw.PostAsync("/admin/prompts", Capital);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(1, body!["latest_version"]!.GetValue<int>());
        Assert.Equal("country", body["versions"]![0]!["variables"]![0]!.GetValue<string>());

        var (added, v2) = await _gw.PostAsync("/admin/prompts/capital/versions", new
        {
            note = "shorter",
            messages = new[] { new { role = "user", content = "Capital of {{country}}, one word:" } },
        });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(2, v2!["version"]!.GetValue<int>());

        var (_, list) = await _gw.GetAsync("/admin/prompts");
        var item = Assert.Single(list!["data"]!.AsArray());
        Assert.Equal("capital", item!["id"]!.GetValue<string>());
        Assert.Equal(2, item["latest_version"]!.GetValue<int>());

        var (_, one) = await _gw.GetAsync("/admin/prompts/capital/versions/1");
        Assert.Equal("What is the capital of {{ country }}?", one!["messages"]![1]!["content"]!.GetValue<string>());
        var (_, latest) = await _gw.GetAsync("/admin/prompts/capital/versions/latest");
        Assert.Equal("shorter", latest!["note"]!.GetValue<string>());

        var (again, error) = await _gw.PostAsync("/admin/prompts", Capital);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("prompt_exists", error!["error"]!["code"]!.GetValue<string>());
        var (missing, notFound) = await _gw.GetAsync("/admin/prompts/capital/versions/9");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("prompt_version_not_found", notFound!["error"]!["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"id":"x","messages":[]}""", "messages")]
    [InlineData("""{"id":"x","messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"id":"bad id!","messages":[{"role":"user","content":"hi"}]}""", "'id'")]
    [InlineData("""{"id":"x","messages":[{"role":"user","content":"hi"}],"variants":{"b/m2":"text"}}""", "variants.b/m2")]
    [InlineData("""{"id":"x","messages":[{"role":"user","content":"hi"}],"defaults":{"messages":[]}}""", "defaults.messages")]
    [InlineData("""not json""", "not valid JSON")]
    public async Task A_bad_prompt_is_refused_naming_the_field(string body, string named)
    {
        var (response, error) = await _gw.PostAsync("/admin/prompts", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, error!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"id":"x","messages":[]}""", "messages")]
    [InlineData("""{"id":"x","messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"id":"x","messages":[{"role":"user","content":"hi"}],"defaults":"x"}""", "defaults")]
    [InlineData("""{"id":"x","messages":[{"role":"user","content":"hi"}],"defaults":{"messages":[]}}""", "defaults.messages")]
    public async Task A_bad_prompt_names_the_field_in_param_too(string body, string param)
    {
        // The admin API's errors name the bad field in 'param' (docs/admin-api.md); a prompt's had null there.
        var (response, error) = await _gw.PostAsync("/admin/prompts", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(("invalid_prompt", param), (error!["error"]!["code"]!.GetValue<string>(), error["error"]!["param"]?.GetValue<string>()));
        (response, error) = await _gw.PostAsync("/admin/prompts/capital/versions", body.Replace("\"id\":\"x\",", "", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error!["error"]!["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_prompt_call_renders_the_variables_and_runs_through_the_alias()
    {
        await _gw.PostAsync("/admin/prompts", Capital);

        var (response, body) = await _gw.PostAsync("/v1/prompts/capital/completions", new { variables = new { country = "France" }, max_tokens = 5 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello from m1", body!["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal("capital@1", response.Headers.GetValues("x-sanjia-prompt").Single());
        Assert.Equal("a/m1", response.Headers.GetValues("x-sanjia-deployment").Single());
        var sent = JsonNode.Parse(Assert.Single(_a.Requests).BodyText)!;
        Assert.Equal("What is the capital of France?", sent["messages"]![1]!["content"]!.GetValue<string>());
        Assert.Equal(5, sent["max_tokens"]!.GetValue<int>()); // the caller's field beats the prompt's default
        Assert.Equal(0, sent["temperature"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_variant_copied_for_a_candidate_model_is_used_for_that_model_only()
    {
        await _gw.PostAsync("/admin/prompts", Capital);
        var (copied, v2) = await _gw.PostAsync("/admin/prompts/capital/versions/1/variants", new
        {
            model = "b/m2",
            messages = new[] { new { role = "user", content = "Country: {{country}}. Capital city, one word:" } },
        });
        Assert.Equal(HttpStatusCode.Created, copied.StatusCode);
        Assert.Equal(2, v2!["version"]!.GetValue<int>());

        var (onB, _) = await _gw.PostAsync("/v1/prompts/capital/completions", new { version = 2, model = "b/m2", variables = new { country = "Peru" } });
        var (onA, _) = await _gw.PostAsync("/v1/prompts/capital/completions", new { version = 2, variables = new { country = "Peru" } });

        Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
        Assert.Equal("b/m2", onB.Headers.GetValues("x-sanjia-prompt-variant").Single());
        Assert.Equal("Country: Peru. Capital city, one word:", JsonNode.Parse(Assert.Single(_b.Requests).BodyText)!["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, onA.StatusCode);
        Assert.False(onA.Headers.Contains("x-sanjia-prompt-variant"));
        Assert.Equal("What is the capital of Peru?", JsonNode.Parse(Assert.Single(_a.Requests).BodyText)!["messages"]![1]!["content"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"variables":{}}""", 400, "missing_variable")]
    [InlineData("""{"variables":{"country":"France","city":"Paris"}}""", 400, "unknown_variable")]
    [InlineData("""{"variables":{"country":"France"},"version":7}""", 404, "prompt_version_not_found")]
    [InlineData("""{"variables":{"country":"France"},"model":"nope"}""", 404, "model_not_found")]
    public async Task A_bad_prompt_call_gets_an_openai_error_and_reaches_no_vendor(string body, int status, string code)
    {
        await _gw.PostAsync("/admin/prompts", Capital);

        var (response, error) = await _gw.PostAsync("/v1/prompts/capital/completions", body);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, error!["error"]!["code"]!.GetValue<string>());
        Assert.Empty(_a.Requests);
    }

    [Fact]
    public async Task An_unknown_prompt_is_404()
    {
        var (response, error) = await _gw.PostAsync("/v1/prompts/nothing/completions", new { });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("prompt_not_found", error!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Prompts_survive_a_restart()
    {
        await _gw.PostAsync("/admin/prompts", Capital);
        await _gw.StopAsync();
        _gw = await GatewayServer.StartInAsync(_gw.DataDir,
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        ]);
        var (response, _) = await _gw.PostAsync("/v1/prompts/capital/completions", new { variables = new { country = "Chile" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
