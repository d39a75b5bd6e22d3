using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>
/// Chat Completions, Anthropic Messages, Responses and prompt completions share one endpoint flow: the caller's
/// <c>x-sanjia-timeout</c>, its 400 in the protocol's own error shape, and the route and cost headers are the same on
/// all four, and on embeddings. Alias <c>chat</c> = vendor a (<c>a/m1</c>) first, vendor b (<c>b/m2</c>, priced) second.
/// </summary>
public sealed class EndpointFlowTests : IAsyncLifetime
{
    public enum Protocol { Chat, Messages, Responses, Prompt }

    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync();
        _b = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    public static TheoryData<Protocol, bool> EveryProtocol()
    {
        var data = new TheoryData<Protocol, bool>();
        foreach (var p in Enum.GetValues<Protocol>())
        {
            data.Add(p, false);
            data.Add(p, true);
        }
        return data;
    }

    private async Task<GatewayServer> StartAsync(params string[] extra)
    {
        var gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.FastRetries,
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1"),
            .. GatewayServer.Deployment("chat", 1, "b", "m2"),
            "--Sanjia:Metering:Prices:b/m2:Currency=USD",
            "--Sanjia:Metering:Prices:b/m2:Input=1",
            "--Sanjia:Metering:Prices:b/m2:Output=2",
            .. extra,
        ]);
        var (created, _) = await gw.PostAsync("/admin/prompts", new
        {
            id = "greet",
            model = "chat",
            messages = new object[] { new { role = "user", content = "Say hello to {{ name }}" } },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return gw;
    }

    private static HttpRequestMessage Request(Protocol protocol, bool stream) => protocol switch
    {
        Protocol.Chat => GatewayServer.Chat("chat", stream),
        Protocol.Messages => Post("/v1/messages", new { model = "chat", max_tokens = 50, stream, messages = new[] { new { role = "user", content = "Say hello" } } }),
        Protocol.Responses => Post("/v1/responses", new { model = "chat", input = "Say hello", stream }),
        _ => Post("/v1/prompts/greet/completions", new { variables = new { name = "you" }, stream }),
    };

    private static HttpRequestMessage Post(string path, object body) => new(HttpMethod.Post, path) { Content = JsonContent.Create(body) };

    /// <summary>What shows that the answer came whole: the text for a JSON body, the protocol's last event for a stream.</summary>
    private static string Complete(Protocol protocol, bool stream) => !stream ? "Hello from m2" : protocol switch
    {
        Protocol.Messages => "message_stop",
        Protocol.Responses => "response.completed",
        _ => "[DONE]",
    };

    [Theory]
    [MemberData(nameof(EveryProtocol))]
    public async Task The_callers_timeout_header_falls_back_from_a_slow_vendor_on_every_protocol(Protocol protocol, bool stream)
    {
        _a.Enqueue(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(20)));
        await using var gw = await StartAsync("--Sanjia:Routing:Timeouts:FirstTokenSeconds=30");

        var (sent, body) = await SendWithOneSecondTimeoutAsync(gw, Request(protocol, stream));

        using var response = sent;
        Assert.Equal("a/m1(timeout) -> b/m2(ok)", response.Get("x-sanjia-route"));
        Assert.Contains(Complete(protocol, stream), body);
    }

    /// <summary>
    /// Sends <paramref name="request"/> with <c>x-sanjia-timeout: 1</c>, to a vendor a that is 20 s late within the
    /// configured 30 s: only the header can make it fall back, and well within 15 s. The answer must be a 200.
    /// </summary>
    private static async Task<(HttpResponseMessage Response, string Body)> SendWithOneSecondTimeoutAsync(GatewayServer gw, HttpRequestMessage request)
    {
        request.Headers.Add("x-sanjia-timeout", "1");
        var clock = Stopwatch.StartNew();
        var response = await gw.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        return (response, body);
    }

    [Theory]
    [InlineData(Protocol.Chat, "soon")]
    [InlineData(Protocol.Messages, "soon")]
    [InlineData(Protocol.Messages, "-1")]
    [InlineData(Protocol.Responses, "0")]
    [InlineData(Protocol.Prompt, "Infinity")]
    public async Task A_bad_timeout_header_is_a_400_in_the_protocols_error_shape(Protocol protocol, string value)
    {
        await using var gw = await StartAsync();
        var request = Request(protocol, stream: false);
        request.Headers.Add("x-sanjia-timeout", value);

        using var response = await gw.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var error = doc.GetProperty("error");
        Assert.Contains("x-sanjia-timeout", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (protocol == Protocol.Messages)
        {
            Assert.Equal("error", doc.GetProperty("type").GetString()); // Anthropic's envelope
            Assert.False(error.TryGetProperty("code", out _));
        }
        else
        {
            Assert.False(doc.TryGetProperty("type", out _));
            Assert.Equal("invalid_timeout", error.GetProperty("code").GetString());
            Assert.Equal("x-sanjia-timeout", error.GetProperty("param").GetString());
        }
        Assert.Empty(_a.Requests);
        Assert.Empty(_b.Requests);
    }

    [Fact]
    public async Task Every_protocol_answers_with_the_same_route_and_cost_headers()
    {
        // Vendor a fails every request here: its breaker must not open before the eighth.
        await using var gw = await StartAsync("--Sanjia:Routing:Health:ConsecutiveFailures=100");
        var seen = new List<(Protocol Protocol, bool Stream, Dictionary<string, string> Headers)>();
        foreach (var protocol in Enum.GetValues<Protocol>())
        {
            foreach (var stream in new[] { false, true })
            {
                _a.Enqueue(FakeBehavior.Status(500, "vendor a is down"));
                using var response = await gw.SendAsync(Request(protocol, stream));
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{protocol} stream={stream}: {(int)response.StatusCode} {body}");
                Assert.Contains(Complete(protocol, stream), body);
                var headers = response.Headers
                    .Where(h => h.Key.StartsWith("x-sanjia-", StringComparison.OrdinalIgnoreCase) && !h.Key.StartsWith("x-sanjia-prompt", StringComparison.OrdinalIgnoreCase))
                    .ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
                seen.Add((protocol, stream, headers));
            }
        }

        foreach (var (protocol, stream, headers) in seen)
        {
            var name = $"{protocol} stream={stream}";
            Assert.True(headers.GetValueOrDefault("x-sanjia-route") == "a/m1(500) -> b/m2(ok)", $"{name}: {string.Join("; ", headers)}");
            Assert.Equal("b/m2", headers["x-sanjia-deployment"]);
            Assert.Equal("2", headers["x-sanjia-attempts"]);
            Assert.Equal("1", headers["x-sanjia-fallbacks"]);
            Assert.Equal("0", headers["x-sanjia-retries"]);
            if (stream)
            {
                // A stream's cost is known only at its end; it travels in the usage of the last events, not in headers.
                Assert.False(headers.ContainsKey("x-sanjia-cost"), name);
            }
            else
            {
                Assert.True(decimal.Parse(headers["x-sanjia-cost"], CultureInfo.InvariantCulture) > 0, name);
                Assert.Equal("USD", headers["x-sanjia-cost-currency"]);
            }
            // The same header names on every protocol, for the same kind of answer.
            Assert.Equal(seen.First(s => s.Stream == stream).Headers.Keys.Order(), headers.Keys.Order());
        }
    }

    /// <summary>Embeddings share the flow's headers: the same route headers, and the cost once metering priced it.</summary>
    [Fact]
    public async Task Embeddings_answer_with_the_same_route_and_cost_headers()
    {
        _a.Enqueue(FakeBehavior.Status(500, "vendor a is down"));
        await using var gw = await StartEmbeddingsAsync();

        using var response = await gw.SendAsync(Embed());

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("a/e1(500) -> b/e2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("b/e2", response.Get("x-sanjia-deployment"));
        Assert.Equal("2", response.Get("x-sanjia-attempts"));
        Assert.Equal("1", response.Get("x-sanjia-fallbacks"));
        Assert.Equal("0", response.Get("x-sanjia-retries"));
        Assert.True(decimal.Parse(response.Get("x-sanjia-cost")!, CultureInfo.InvariantCulture) > 0);
        Assert.Equal("USD", response.Get("x-sanjia-cost-currency"));
    }

    /// <summary>Alias <c>embed</c> = vendor a (<c>a/e1</c>) first, vendor b (<c>b/e2</c>, priced) second.</summary>
    private Task<GatewayServer> StartEmbeddingsAsync(params string[] extra) => StartAsync(
    [
        "--Sanjia:Providers:a:EmbeddingModels:0=e1",
        "--Sanjia:Providers:b:EmbeddingModels:0=e2",
        .. GatewayServer.Deployment("embed", 0, "a", "e1"),
        .. GatewayServer.Deployment("embed", 1, "b", "e2"),
        "--Sanjia:Metering:Prices:b/e2:Currency=USD",
        "--Sanjia:Metering:Prices:b/e2:Input=1",
        .. extra,
    ]);

    private static HttpRequestMessage Embed() => Post("/v1/embeddings", new { model = "embed", input = "hello" });

    /// <summary>
    /// The caller's timeout bounds an embeddings attempt as it bounds a chat: vendor a answers after 20 s, well inside
    /// the configured 30 s, so only the header's 1 s sends the request on to vendor b.
    /// </summary>
    [Fact]
    public async Task The_callers_timeout_header_falls_back_from_a_slow_embeddings_vendor()
    {
        _a.Enqueue(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(20)));
        await using var gw = await StartEmbeddingsAsync("--Sanjia:Routing:Timeouts:FirstTokenSeconds=30");

        var (sent, body) = await SendWithOneSecondTimeoutAsync(gw, Embed());

        using var response = sent;
        Assert.Equal("a/e1(timeout) -> b/e2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("b/e2", response.Get("x-sanjia-deployment"));
        var doc = JsonDocument.Parse(body).RootElement;
        Assert.Equal("list", doc.GetProperty("object").GetString());
        Assert.Equal("e2", doc.GetProperty("model").GetString()); // vendor b's own answer, passed on
        Assert.Single(_b.Requests);
    }

    /// <summary>Without the header the configured limit stands: the same slow vendor a answers within it.</summary>
    [Fact]
    public async Task Without_the_timeout_header_a_slow_embeddings_vendor_answers_within_the_configured_limit()
    {
        _a.Enqueue(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(2)));
        await using var gw = await StartEmbeddingsAsync("--Sanjia:Routing:Timeouts:FirstTokenSeconds=30");

        using var response = await gw.SendAsync(Embed());

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("a/e1(ok)", response.Get("x-sanjia-route"));
        Assert.Empty(_b.Requests);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("Infinity")]
    public async Task A_bad_timeout_header_on_embeddings_is_the_same_400_as_on_chat(string value)
    {
        await using var gw = await StartEmbeddingsAsync();
        var request = Embed();
        request.Headers.Add("x-sanjia-timeout", value);

        using var response = await gw.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(doc.TryGetProperty("type", out _)); // OpenAI's shape: only the error object
        var error = doc.GetProperty("error");
        Assert.Equal($"The header 'x-sanjia-timeout' must be a positive number of seconds, not '{value}'.", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_timeout", error.GetProperty("code").GetString());
        Assert.Equal("x-sanjia-timeout", error.GetProperty("param").GetString());
        Assert.Empty(_a.Requests);
        Assert.Empty(_b.Requests);
    }
}
