using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>Every failure gets OpenAI's error shape with the right status, and the gateway keeps serving afterwards.</summary>
public sealed class ErrorTests : GatewayWithUpstream
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings(FakeOpenAiServer upstream) =>
    [
        .. GatewayServer.Upstream(upstream),
        new("Providers:down:BaseUrl", FakeOpenAiServer.GetUnreachableBaseUrl()),
        new("Providers:down:ApiKey", "k"),
        new("Providers:slow:BaseUrl", upstream.BaseUrl),
        new("Providers:slow:ApiKey", upstream.ApiKey),
        new("Providers:slow:Timeouts:RequestSeconds", "0.5"),
        new("Providers:slow:Timeouts:StreamIdleSeconds", "0.5"),
        new("MaxRequestBodyBytes", "4096"),
        // One attempt: these tests are about how a failure reaches the caller (retries are tested under Routing/).
        new("Routing:Retry:MaxAttempts", "1"),
    ];

    private async Task<(HttpStatusCode Status, JsonElement Error, HttpResponseMessage Response)> Post(string body, string path = "/v1/chat/completions")
    {
        var response = await Gateway.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        OpenApiSpec.AssertValid("ErrorResponse", text);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal); // never a stack trace
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.GetProperty("error").Clone(), response);
    }

    private static string Chat(string model, string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]{{extra}}}""";

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("{\"model\":\"fake/gpt-4o-mini\",\"messages\":\"hi\"}", "messages")]
    [InlineData("{\"model\":\"fake/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":9}", "temperature")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model")]
    public async Task Bad_requests_get_400_naming_the_field(string body, string? param)
    {
        var (status, error, _) = await Post(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Unknown_models_get_404()
    {
        var (status, error, _) = await Post(Chat("no-such-model"));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("no-such-model", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bodies_over_the_limit_get_413_declared_or_chunked()
    {
        var big = Chat("fake/gpt-4o-mini", $",\"pad\":\"{new string('x', 5000)}\"");
        var (status, error, _) = await Post(big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());

        // Without Content-Length the limit still holds while reading.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))),
        };
        chunked.Headers.TransferEncodingChunked = true;
        using var response = await Gateway.Http.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        OpenApiSpec.AssertValid("ErrorResponse", await response.Content.ReadAsStringAsync());
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task Upstream_rate_limits_pass_on_with_retry_after()
    {
        Upstream.Enqueue(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "7" }));
        var (status, error, response) = await Post(Chat("fake/gpt-4o-mini"));
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
        Assert.Contains("slow down", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_client_errors_pass_on_with_their_status_and_message()
    {
        Upstream.Enqueue(FakeBehavior.Status(422, "field x is not allowed"));
        var (status, error, _) = await Post(Chat("fake/gpt-4o-mini"));
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Equal("field x is not allowed", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Upstream_server_errors_become_502()
    {
        Upstream.Enqueue(FakeBehavior.Status(500, "boom"));
        var (status, error, _) = await Post(Chat("fake/gpt-4o-mini"));
        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal("upstream_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_unreachableUpstream_is_502_and_a_timed_out_one_504()
    {
        var (status, error, _) = await Post(Chat("down/gpt-4o-mini"));
        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal("upstream_unreachable", error.GetProperty("code").GetString());

        Upstream.Enqueue(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(5)));
        var (slow, slowError, _) = await Post(Chat("slow/gpt-4o-mini"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, slow);
        Assert.Equal("upstream_timeout", slowError.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_stream_that_breaks_ends_with_an_error_event_and_no_clean_end()
    {
        Upstream.Enqueue(FakeBehavior.DropAfterChunks(2));
        var body = """{"model":"fake/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var events = new List<string>();
        var failed = false;
        try
        {
            events = await Sse.ReadDataAsync(response);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            failed = true; // the aborted connection is itself the "not clean" signal
        }
        Assert.DoesNotContain("[DONE]", events);
        if (!failed)
        {
            var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
            Assert.Equal("upstream_stream_interrupted", error.GetProperty("code").GetString());
        }
        var entry = Assert.Single(await Gateway.LedgerAsync());
        Assert.Equal(502, entry.Status);
    }

    [Fact]
    public async Task The_sdk_sees_the_failure_of_a_broken_stream()
    {
        Upstream.Enqueue(FakeBehavior.MalformedAfterChunks(1));
        var chat = Gateway.OpenAi().GetChatClient("fake/gpt-4o-mini");
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
            }
        });
    }

    [Fact]
    public async Task The_sdk_surfacesGateway_errors_with_their_status()
    {
        var chat = Gateway.OpenAi().GetChatClient("missing-model");
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task TheGateway_keeps_serving_after_every_kind_of_failure()
    {
        await Post("{not json");
        await Post(Chat("no-such-model"));
        await Post(Chat("down/gpt-4o-mini"));
        Upstream.Enqueue(FakeBehavior.ResetBeforeResponse());
        var (reset, _, _) = await Post(Chat("fake/gpt-4o-mini"));
        Assert.Equal(HttpStatusCode.BadGateway, reset);

        var chat = Gateway.OpenAi().GetChatClient("fake/gpt-4o-mini");
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("still there?")]);
        Assert.Equal("Hello from gpt-4o-mini", completion.Content[0].Text);
    }

    [Fact]
    public async Task Unknown_routes_are_404_in_openai_shape()
    {
        var (status, _, _) = await Post("{}", "/v1/no-such-route");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }
}
