using System.Globalization;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeGemini;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>
/// A vendor's overload (Anthropic 529 <c>overloaded_error</c>, Gemini 503 <c>UNAVAILABLE</c>) is not the caller's rate
/// limit: OpenAI clients get 503, Anthropic clients 529 <c>overloaded_error</c>, and routing still retries and falls
/// back. Gemini's <c>RetryInfo.retryDelay</c> counts as <c>Retry-After</c>.
/// </summary>
public sealed class UpstreamOverloadTests
{
    private const string OpenAiBody = """{"model":"m/x","messages":[{"role":"user","content":"Hi"}]}""";
    private const string AnthropicBody = """{"model":"m/x","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}""";

    private static async Task<(int Status, JsonNode Body)> SendAsync(GatewayServer gateway, bool anthropicClient)
    {
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync(anthropicClient ? "v1/messages" : "v1/chat/completions",
            AnthropicMessagesTests.Json(anthropicClient ? AnthropicBody : OpenAiBody));
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    [Theory]
    [InlineData("anthropic", false)]
    [InlineData("anthropic", true)]
    [InlineData("gemini", false)]
    [InlineData("gemini", true)]
    public async Task An_overloaded_vendor_is_reported_as_overload_in_the_callers_protocol(string backend, bool anthropicClient)
    {
        await using var anthropic = await FakeAnthropicServer.StartAsync();
        await using var gemini = await FakeGeminiServer.StartAsync();
        for (var i = 0; i < 6; i++)
        {
            anthropic.Enqueue(new FakeAnthropicReply { Status = 529, ErrorType = "overloaded_error" });
            gemini.Enqueue(new FakeGeminiReply { Status = 503, ErrorStatus = "UNAVAILABLE" });
        }
        await using var gateway = await GatewayServer.StartWithArgsAsync(
        [
            .. backend == "anthropic"
                ? GatewayServer.Provider("m", anthropic.BaseUrl, anthropic.ApiKey, type: "anthropic")
                : GatewayServer.Provider("m", gemini.BaseUrl, gemini.ApiKey, type: "gemini"),
            .. GatewayServer.FastRetries,
        ]);

        var (status, body) = await SendAsync(gateway, anthropicClient);

        if (anthropicClient)
        {
            Assert.Equal(529, status);
            Assert.Equal("overloaded_error", (string?)body["error"]!["type"]);
        }
        else
        {
            Assert.Equal(503, status);
            Assert.Equal("server_error", (string?)body["error"]!["type"]);
            Assert.Equal("upstream_overloaded", (string?)body["error"]!["code"]);
        }
        // Retried like any transient failure: more than one attempt reached the vendor.
        Assert.True((backend == "anthropic" ? anthropic.Requests.Count : gemini.Requests.Count) > 1);
    }

    [Fact]
    public async Task An_overloaded_Anthropic_deployment_falls_back_to_the_next()
    {
        await using var anthropic = await FakeAnthropicServer.StartAsync();
        await using var openai = await FakeOpenAiServer.StartAsync();
        anthropic.Enqueue(new FakeAnthropicReply { Status = 529, ErrorType = "overloaded_error" });
        await using var gateway = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("claude", anthropic.BaseUrl, anthropic.ApiKey, type: "anthropic"),
            .. GatewayServer.Provider("vendor", openai.BaseUrl, openai.ApiKey),
            .. GatewayServer.Deployment("smart", 0, "claude", "claude-sonnet-4-5"),
            .. GatewayServer.Deployment("smart", 1, "vendor", "gpt-4o"),
            .. GatewayServer.FastRetries,
        ]);
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""{"model":"smart","messages":[{"role":"user","content":"Hi"}]}"""));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("claude/claude-sonnet-4-5(529) -> vendor/gpt-4o(ok)", response.Get("x-sanjia-route"));
    }

    [Fact]
    public async Task Gemini_retry_delay_in_the_error_details_is_passed_on_and_cools_the_deployment()
    {
        await using var gemini = await FakeGeminiServer.StartAsync();
        for (var i = 0; i < 6; i++) gemini.Enqueue(new FakeGeminiReply { Status = 429, ErrorStatus = "RESOURCE_EXHAUSTED", RetryDelay = "30s" });
        await using var gateway = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("gem", gemini.BaseUrl, gemini.ApiKey, type: "gemini"),
            .. GatewayServer.Deployment("solo", 0, "gem", "gemini-2.5-flash"),
            .. GatewayServer.FastRetries,
        ]);
        using var http = gateway.CreateHttpClient();

        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""{"model":"solo","messages":[{"role":"user","content":"Hi"}]}"""));
        Assert.Equal(429, (int)response.StatusCode);
        Assert.InRange(int.Parse(response.Get("Retry-After")!, CultureInfo.InvariantCulture), 25, 30);
        Assert.Single(gemini.Requests); // not called again while it asked to wait

        using var second = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""{"model":"solo","messages":[{"role":"user","content":"Hi"}]}"""));
        Assert.Equal(429, (int)second.StatusCode);
        Assert.NotNull(second.Get("Retry-After"));
        Assert.Single(gemini.Requests);
    }
}
