using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeGemini;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>
/// An upstream "prompt too long" refusal moves on to the next deployment (which may have a larger window) and is not
/// retried on the same one, whatever adapter the deployment uses. The second deployment fails transiently so the
/// request runs several rounds: the refusing deployment must be called exactly once.
/// </summary>
public sealed class ContextOverflowTests
{
    private static Task<GatewayServer> StartAsync(string[] first, FakeOpenAiServer b) => GatewayServer.StartWithArgsAsync(
    [
        .. GatewayServer.FastRetries,
        .. first,
        .. GatewayServer.Provider("b", b.BaseUrl, b.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "a", "big-model"),
        .. GatewayServer.Deployment("chat", 1, "b", "m2"),
        "--Sanjia:Routing:Retry:MaxAttempts=4",
    ]);

    [Fact]
    public async Task An_Anthropic_prompt_is_too_long_refusal_falls_over_to_the_next_deployment()
    {
        await using var a = await FakeAnthropicServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.Enqueue(new FakeAnthropicReply { Status = 400, ErrorType = "invalid_request_error", ErrorMessage = "prompt is too long: 210000 tokens > 200000 maximum" });
        await using var gw = await StartAsync(GatewayServer.Provider("a", a.BaseUrl, a.ApiKey, type: "anthropic"), b);

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a/big-model(400) -> b/m2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("Hello from m2", sse.Text);
    }

    [Fact]
    public async Task An_Anthropic_context_refusal_is_not_retried_in_later_rounds()
    {
        await using var a = await FakeAnthropicServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        for (var i = 0; i < 4; i++)
        {
            a.Enqueue(new FakeAnthropicReply { Status = 400, ErrorType = "invalid_request_error", ErrorMessage = "prompt is too long: 210000 tokens > 200000 maximum" });
        }
        b.SetDefault(FakeBehavior.Status(503, "down"));
        await using var gw = await StartAsync(GatewayServer.Provider("a", a.BaseUrl, a.ApiKey, type: "anthropic"), b);

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Single(a.Requests);
        Assert.Equal(3, b.Requests.Count);
    }

    [Fact]
    public async Task A_Gemini_input_token_count_refusal_falls_over_to_the_next_deployment()
    {
        await using var a = await FakeGeminiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.Enqueue(new FakeGeminiReply
        {
            Status = 400, ErrorStatus = "INVALID_ARGUMENT",
            ErrorMessage = "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
        });
        await using var gw = await StartAsync(GatewayServer.Provider("a", a.BaseUrl, a.ApiKey, type: "gemini"), b);

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a/big-model(400) -> b/m2(ok)", response.Get("x-sanjia-route"));
    }

    /// <summary>OpenAI-compatible vendors, each with its own error body for the same refusal.</summary>
    [Theory]
    [InlineData("""{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""")] // OpenAI
    [InlineData("""{"error":{"message":"This model's maximum context length is 65536 tokens. However, you requested 66343 tokens (62247 in the messages, 4096 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}""")] // DeepSeek
    [InlineData("""{"error":{"message":"Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)","type":"invalid_request_error"}}""")] // Kimi
    [InlineData("""{"error":{"code":"InvalidParameter","param":null,"message":"Range of input length should be [1, 30720]","type":"InvalidParameter"},"id":"0a6d","request_id":"0a6d"}""")] // Qwen
    [InlineData("""{"error":{"code":"1261","message":"Prompt exceeds max length"}}""")] // GLM
    [InlineData("""{"error":{"message":"invalid params, context window exceeds limit (2013)","type":"invalid_request_error"}}""")] // MiniMax
    public async Task An_OpenAI_compatible_vendors_context_refusal_falls_over_and_is_not_retried(string errorBody)
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.SetDefault(FakeBehavior.Status(400) with { ErrorBody = errorBody });
        b.SetDefault(FakeBehavior.Status(503, "down"));
        await using var gw = await StartAsync(GatewayServer.Provider("a", a.BaseUrl, a.ApiKey), b);

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.StartsWith("a/big-model(400) -> b/m2(503)", response.Get("x-sanjia-route"));
        Assert.Single(a.Requests);
        Assert.Equal(3, b.Requests.Count);
    }
}
