using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Core.Telemetry;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Telemetry;

/// <summary>
/// Traces over real HTTP against fake vendors, read with an <see cref="ActivityListener"/>: one server span per
/// request (ASP.NET Core's, joined to the caller's <c>traceparent</c>) with the GenAI and <c>sanjia.*</c> attributes,
/// and one client span per upstream attempt under it. Each test sends its own trace id and reads only that trace
/// (other tests' gateways in this process are traced too while the listener is on).
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private ActivityListener _listener = null!;
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;

    public async Task InitializeAsync()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is GatewayTelemetry.Name or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
        _a = await FakeOpenAiServer.StartAsync();
        _b = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private Task<GatewayServer> StartAsync(params string[] extra) => GatewayServer.StartWithArgsAsync(
    [
        .. GatewayServer.FastRetries,
        .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "a", "m1", "InputPricePerMillion=2", "OutputPricePerMillion=8"),
        .. GatewayServer.Deployment("chat", 1, "b", "m2", "InputPricePerMillion=2", "OutputPricePerMillion=8"),
        .. extra,
    ]);

    private static HttpRequestMessage Traced(HttpRequestMessage request, ActivityTraceId trace)
    {
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        return request;
    }

    /// <summary>The spans of one trace once <paramref name="count"/> of them have ended (the server span ends after the response).</summary>
    private async Task<List<Activity>> TraceAsync(ActivityTraceId trace, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var spans = _stopped.Where(a => a.TraceId == trace).ToList();
            if (spans.Count >= count || DateTime.UtcNow > deadline) return spans;
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_fallback_shows_as_one_server_span_with_two_client_spans_carrying_the_genai_attributes()
    {
        await using var gateway = await StartAsync();
        _a.Enqueue(FakeBehavior.Status(503, "overloaded"));
        _b.Enqueue(FakeBehavior.Reply("hello there", promptTokens: 11, completionTokens: 3));
        var trace = ActivityTraceId.CreateRandom();

        using var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false), trace));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await TraceAsync(trace, 3);

        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var clients = spans.Where(s => s.Kind == ActivityKind.Client).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, clients.Count);
        Assert.All(clients, c => Assert.Equal(server.SpanId, c.ParentSpanId));
        Assert.All(clients, c => Assert.Equal(GatewayTelemetry.Name, c.Source.Name));

        var (failed, answered) = (clients[0], clients[1]);
        Assert.Equal("chat m1", failed.DisplayName);
        Assert.Equal("chat", failed.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", failed.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("m1", failed.GetTagItem("gen_ai.request.model"));
        Assert.Equal("a/m1", failed.GetTagItem("sanjia.deployment"));
        Assert.Equal(1, failed.GetTagItem("sanjia.attempt"));
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.NotNull(failed.GetTagItem("error.type"));

        Assert.Equal("chat m2", answered.DisplayName);
        Assert.Equal(2, answered.GetTagItem("sanjia.attempt"));
        Assert.Equal("503", answered.GetTagItem("sanjia.fallback_reason"));
        Assert.Equal(11, answered.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(3, answered.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("m2", answered.GetTagItem("gen_ai.response.model"));
        Assert.Equal(new[] { "stop" }, answered.GetTagItem("gen_ai.response.finish_reasons"));
        Assert.Equal(ActivityStatusCode.Unset, answered.Status);

        Assert.Equal("chat", server.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("chat", server.GetTagItem("gen_ai.request.model"));
        Assert.Equal("chat", server.GetTagItem("sanjia.alias"));
        Assert.Equal("b/m2", server.GetTagItem("sanjia.deployment"));
        Assert.Equal("m2", server.GetTagItem("gen_ai.response.model"));
        Assert.Equal(11, server.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(3, server.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(2, server.GetTagItem("sanjia.attempts"));
        Assert.Equal(1, server.GetTagItem("sanjia.fallbacks"));
        Assert.Equal("USD", server.GetTagItem("sanjia.currency"));
        // 11 input tokens at 2 and 3 output at 8 per million, as the ledger and the x-sanjia-cost header have it.
        Assert.Equal(0.000046, (double)server.GetTagItem("sanjia.cost")!, 9);
        Assert.Equal(response.Get("x-request-id"), server.GetTagItem("sanjia.request_id"));
        // Content stays out unless switched on.
        Assert.Null(server.GetTagItem("gen_ai.input.messages"));
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Value is string v && v.Contains("Say hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_traces_exported_the_server_span_has_the_http_attributes_and_probes_are_not_recorded()
    {
        // The exporter is what switches the HTTP attributes on (it need not reach anything for the spans to be built).
        await using var gateway = await GatewayServer.StartWithEnvironmentAsync(
            new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" },
            ["--Sanjia:Routing:Retry:MaxAttempts=1", .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey), .. GatewayServer.Deployment("chat", 0, "a", "m1")]);
        _a.Enqueue(FakeBehavior.Status(500, "boom"));
        var ok = ActivityTraceId.CreateRandom();
        var failed = ActivityTraceId.CreateRandom();
        var probe = ActivityTraceId.CreateRandom();

        using (var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false), failed)))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }
        using (var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false), ok)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var response = await gateway.Http.SendAsync(Traced(new HttpRequestMessage(HttpMethod.Get, "/health/live"), probe)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var server = Assert.Single(await TraceAsync(ok, 2), s => s.Kind == ActivityKind.Server);
        Assert.Equal("POST /v1/chat/completions", server.DisplayName);
        Assert.Equal("POST", server.GetTagItem("http.request.method"));
        Assert.Equal("http", server.GetTagItem("url.scheme"));
        Assert.Equal("/v1/chat/completions", server.GetTagItem("url.path"));
        Assert.Equal("/v1/chat/completions", server.GetTagItem("http.route"));
        Assert.Equal(200, server.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Unset, server.Status);
        Assert.True(server.Recorded);

        var error = Assert.Single(await TraceAsync(failed, 2), s => s.Kind == ActivityKind.Server);
        Assert.Equal(502, error.GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Error, error.Status);
        Assert.NotNull(error.GetTagItem("error.type"));

        // A probe is traced by ASP.NET Core but marked not recorded, so the exporter leaves it out.
        var health = Assert.Single(await TraceAsync(probe, 1));
        Assert.False(health.Recorded);
        Assert.Null(health.GetTagItem("url.path"));
    }

    [Fact]
    public async Task A_stream_keeps_its_client_span_open_until_it_ends_and_then_has_its_usage()
    {
        await using var gateway = await StartAsync();
        _a.Enqueue(FakeBehavior.StreamChunks(4, TimeSpan.FromMilliseconds(30)));
        var trace = ActivityTraceId.CreateRandom();

        using var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: true), trace));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        var spans = await TraceAsync(trace, 2);

        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var client = Assert.Single(spans, s => s.Kind == ActivityKind.Client);
        // The attempt lasted while the chunks came (3 gaps of 30 ms), not only until the first one was peeked.
        Assert.True(client.Duration >= TimeSpan.FromMilliseconds(80), $"client span lasted {client.Duration}");
        Assert.True((int)client.GetTagItem("gen_ai.usage.output_tokens")! > 0);
        Assert.Equal(new[] { "stop" }, client.GetTagItem("gen_ai.response.finish_reasons"));
        Assert.Equal(true, server.GetTagItem("sanjia.stream"));
        Assert.Equal(client.GetTagItem("gen_ai.usage.output_tokens"), server.GetTagItem("gen_ai.usage.output_tokens"));
    }

    [Fact]
    public async Task Content_goes_into_the_server_span_only_when_capture_is_switched_on()
    {
        await using var gateway = await StartAsync("--Sanjia:Telemetry:CaptureContent=true");
        var trace = ActivityTraceId.CreateRandom();

        using var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false, prompt: "the canary prompt"), trace));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await TraceAsync(trace, 2);

        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        Assert.Contains("the canary prompt", (string)server.GetTagItem("gen_ai.input.messages")!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_the_vendors_all_fail_has_its_error_type_on_every_span()
    {
        await using var gateway = await StartAsync("--Sanjia:Routing:Retry:MaxAttempts=2");
        _a.Enqueue(FakeBehavior.Status(500, "boom"));
        _b.Enqueue(FakeBehavior.Status(500, "boom"));
        var trace = ActivityTraceId.CreateRandom();

        using var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false), trace));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var spans = await TraceAsync(trace, 3);

        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        Assert.Equal(2, spans.Count(s => s.Kind == ActivityKind.Client && s.Status == ActivityStatusCode.Error));
        Assert.NotNull(server.GetTagItem("error.type"));
        Assert.Equal("upstream", server.GetTagItem("sanjia.error.class"));
    }

    [Fact]
    public async Task An_image_call_is_traced_as_generate_content_not_chat()
    {
        await using var gateway = await StartAsync(GatewayServer.Provider("openai", _a.BaseUrl, _a.ApiKey));
        var trace = ActivityTraceId.CreateRandom();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images/generations")
        {
            Content = new StringContent("""{"model":"openai/dall-e-2","prompt":"a lighthouse","size":"256x256"}""", System.Text.Encoding.UTF8, "application/json"),
        };

        using var response = await gateway.SendAsync(Traced(request, trace));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await TraceAsync(trace, 2);

        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var client = Assert.Single(spans, s => s.Kind == ActivityKind.Client);
        Assert.Equal("generate_content", server.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("generate_content", client.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("generate_content dall-e-2", client.DisplayName);
        Assert.Null(server.GetTagItem("sanjia.cache"));
    }

    [Fact]
    public async Task The_server_span_says_what_the_response_cache_did()
    {
        await using var gateway = await StartAsync("--Sanjia:Cache:Enabled=true", "--Sanjia:Cache:AnyTemperature=true");
        var (first, second) = (ActivityTraceId.CreateRandom(), ActivityTraceId.CreateRandom());

        using (var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false, prompt: "cache me"), first)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("miss", response.Get("x-sanjia-cache"));
        }
        using (var response = await gateway.SendAsync(Traced(GatewayServer.Chat("chat", stream: false, prompt: "cache me"), second)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("hit", response.Get("x-sanjia-cache"));
        }

        Assert.Equal("miss", Assert.Single(await TraceAsync(first, 2), s => s.Kind == ActivityKind.Server).GetTagItem("sanjia.cache"));
        // A hit never reaches a vendor: its trace is the server span alone.
        var hit = Assert.Single(await TraceAsync(second, 1), s => s.Kind == ActivityKind.Server);
        Assert.Equal("hit", hit.GetTagItem("sanjia.cache"));
    }
}
