using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>
/// One test per upstream fault, against real fake vendors: alias <c>chat</c> = vendor a (<c>a/m1</c>) first,
/// vendor b (<c>b/m2</c>) second, with short timeouts so every test takes seconds.
/// </summary>
public sealed class FaultTests : IAsyncLifetime
{
    /// <summary>Every routing test wants short backoff so retries take milliseconds, not seconds.</summary>
    private static Task<GatewayServer> StartGatewayAsync(params string[] settings) => GatewayServer.StartWithArgsAsync([.. GatewayServer.FastRetries, .. settings]);

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

    private Task<GatewayServer> TwoVendors(params string[] extra) => TwoVendorsAt(_a.BaseUrl, extra);

    private Task<GatewayServer> TwoVendorsAt(string aUrl, params string[] extra) => StartGatewayAsync(
    [
        .. GatewayServer.Provider("a", aUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        .. GatewayServer.Deployment("chat", 1, "b", "m2"),
        "--Sanjia:Routing:Timeouts:FirstTokenSeconds=1",
        "--Sanjia:Routing:Timeouts:StreamIdleSeconds=1",
        .. extra,
    ]);

    [Theory]
    [InlineData(500, false)]
    [InlineData(503, false)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    public async Task A_server_error_falls_back_to_the_next_vendor_and_the_headers_show_the_route(int status, bool stream)
    {
        _a.Enqueue(FakeBehavior.Status(status, "vendor a is down"));
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("b/m2", response.Get("x-sanjia-deployment"));
        Assert.Equal($"a/m1({status}) -> b/m2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("2", response.Get("x-sanjia-attempts"));
        Assert.Equal("1", response.Get("x-sanjia-fallbacks"));
        Assert.Equal("0", response.Get("x-sanjia-retries"));
        if (stream)
        {
            var sse = await SseRead.ReadAsync(response);
            Assert.True(sse.Done);
            Assert.Equal("Hello from m2", sse.Text);
        }
        else
        {
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("Hello from m2", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }
        Assert.Single(_a.Requests);
        Assert.Single(_b.Requests);
    }

    [Fact]
    public async Task A_429_with_retry_after_in_seconds_is_waited_for_and_retried_on_the_same_vendor()
    {
        _a.Enqueue(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "1" }));
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Deployment("solo", 0, "a", "m1"),
        ]);

        var clock = Stopwatch.StartNew();
        using var response = await gw.SendAsync(GatewayServer.Chat("solo", stream: false));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {clock.Elapsed}, before Retry-After");
        Assert.Equal("a/m1(429) -> a/m1(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("1", response.Get("x-sanjia-retries"));
        Assert.Equal(2, _a.Requests.Count);
    }

    [Fact]
    public async Task A_429_with_retry_after_as_an_http_date_is_waited_for_and_retried()
    {
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Deployment("solo", 0, "a", "m1"),
        ]);
        // Dated once the gateway is up: a start-up slower than the date's lead would eat the wait this test measures.
        var date = DateTimeOffset.UtcNow.AddSeconds(2).ToString("R", CultureInfo.InvariantCulture);
        _a.Enqueue(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = date }));

        var clock = Stopwatch.StartNew();
        using var response = await gw.SendAsync(GatewayServer.Chat("solo", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(sse.Done);
        // The date has one-second resolution: at least ~1 s must have passed before the retry.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {clock.Elapsed}, before Retry-After");
        Assert.Equal("a/m1(429) -> a/m1(ok)", response.Get("x-sanjia-route"));
    }

    [Fact]
    public async Task A_retry_after_longer_than_the_gateway_waits_is_passed_on_to_the_client()
    {
        _a.SetDefault(FakeBehavior.Status(429, "quota", new Dictionary<string, string> { ["Retry-After"] = "30" }));
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Deployment("solo", 0, "a", "m1"),
        ]);

        using var response = await gw.SendAsync(GatewayServer.Chat("solo", stream: false));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var retryAfter = int.Parse(response.Get("Retry-After")!, CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 25, 30);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("rate_limit_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Single(_a.Requests); // not hammered while it asked to wait

        // The next request does not call the vendor at all while it cools down, and still tells the client when to come back.
        using var second = await gw.SendAsync(GatewayServer.Chat("solo", stream: false));
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.NotNull(second.Get("Retry-After"));
        Assert.Single(_a.Requests);
        Assert.Equal("a/m1(cooling)", second.Get("x-sanjia-route"));
    }

    [Fact]
    public async Task A_deployment_that_sent_retry_after_is_not_called_again_in_later_rounds_before_it_passes()
    {
        // a asks for 3 s; b fails without a Retry-After. The later rounds retry b after the short backoff, but must
        // leave a alone until its Retry-After has passed (it was called again ~250 ms later before the fix).
        _a.SetDefault(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "3" }));
        _b.SetDefault(FakeBehavior.Status(503, "down"));
        await using var gw = await TwoVendors("--Sanjia:Routing:Retry:MaxAttempts=4");

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Single(_a.Requests);
        Assert.Equal(3, _b.Requests.Count);
        Assert.Equal("a/m1(429) -> b/m2(503) -> a/m1(cooling) -> b/m2(503) -> a/m1(cooling) -> b/m2(503)", response.Get("x-sanjia-route"));
        // The client learns when the deployment that asked to wait will take requests again.
        Assert.InRange(int.Parse(response.Get("Retry-After")!, CultureInfo.InvariantCulture), 1, 3);
    }

    [Fact]
    public async Task When_only_the_deployment_that_sent_retry_after_is_left_the_request_waits_for_it()
    {
        _a.Enqueue(FakeBehavior.Status(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "1" }));
        _b.SetDefault(FakeBehavior.Status(401, "bad key")); // the gateway's key: next deployment, never retried
        await using var gw = await TwoVendors();

        var clock = Stopwatch.StartNew();
        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a/m1(429) -> b/m2(401) -> a/m1(ok)", response.Get("x-sanjia-route"));
        Assert.Equal(2, _a.Requests.Count);
        // a and b answer at once: the only pause is the wait for a's Retry-After before calling it again.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"a was called again after {clock.Elapsed}, before its Retry-After of 1 s");
    }

    [Fact]
    public async Task An_unreachable_vendor_is_named_with_its_host_and_port_but_never_its_key()
    {
        var url = FakeOpenAiServer.GetUnreachableBaseUrl();
        await using var gw = await StartGatewayAsync([.. GatewayServer.Provider("gone", url, "sk-secret-gone-key"), .. GatewayServer.Deployment("solo", 0, "gone", "m1")]);

        using var response = await gw.SendAsync(GatewayServer.Chat("solo", stream: false));
        var body = await response.Content.ReadAsStringAsync();

        var uri = new Uri(url);
        Assert.Contains($"{uri.Host}:{uri.Port}", body);
        Assert.DoesNotContain("sk-secret-gone-key", body);
    }

    [Fact]
    public async Task A_refused_connection_falls_back()
    {
        await using var gw = await TwoVendorsAt(FakeOpenAiServer.GetUnreachableBaseUrl());

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a/m1(unreachable) -> b/m2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("Hello from m2", sse.Text);
    }

    [Fact]
    public async Task A_stall_before_the_first_token_times_out_and_falls_back_and_the_stalled_call_is_cancelled()
    {
        _a.Enqueue(FakeBehavior.StallAfterChunks(0, TimeSpan.FromSeconds(20)));
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal("a/m1(timeout) -> b/m2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("Hello from m2", sse.Text);
        Assert.True(sse.Done);
        Assert.True(await _a.Requests[0].WaitForClientAbortAsync(TimeSpan.FromSeconds(10)), "the stalled upstream call was not cancelled");
    }

    [Fact]
    public async Task A_stall_mid_stream_ends_the_stream_with_an_error_event_and_no_done()
    {
        _a.Enqueue(FakeBehavior.StallAfterChunks(2, TimeSpan.FromSeconds(20)) with { ChunkCount = 5 });
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, sse.ContentChunks);
        Assert.Equal("word1 word2", sse.Text.Trim());
        Assert.False(sse.Done);
        Assert.Contains("timeout_error", sse.Error);
        Assert.Empty(_b.Requests); // no fail-over once the client has bytes: no duplicated text
        Assert.True(await _a.Requests[0].WaitForClientAbortAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_connection_reset_mid_stream_ends_the_stream_with_an_error_event()
    {
        _a.Enqueue(FakeBehavior.DropAfterChunks(3) with { ChunkCount = 6 });
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(3, sse.ContentChunks);
        Assert.False(sse.Done);
        Assert.Contains("upstream_stream_interrupted", sse.Error);
        Assert.Empty(_b.Requests);
    }

    [Fact]
    public async Task A_connection_reset_before_the_answer_falls_back()
    {
        _a.Enqueue(FakeBehavior.ResetBeforeResponse());
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("b/m2", response.Get("x-sanjia-deployment"));
    }

    [Fact]
    public async Task A_malformed_first_chunk_falls_back_before_the_client_sees_a_byte()
    {
        _a.Enqueue(FakeBehavior.MalformedAfterChunks(0));
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal("a/m1(error) -> b/m2(ok)", response.Get("x-sanjia-route"));
        Assert.Equal("Hello from m2", sse.Text);
        Assert.True(sse.Done);
    }

    [Fact]
    public async Task A_malformed_chunk_mid_stream_ends_the_stream_with_an_error_event()
    {
        _a.Enqueue(FakeBehavior.MalformedAfterChunks(2) with { ChunkCount = 4 });
        await using var gw = await TwoVendors();

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(2, sse.ContentChunks);
        Assert.False(sse.Done);
        Assert.Contains("upstream_malformed_chunk", sse.Error);
    }

    [Fact]
    public async Task A_prompt_over_a_deployments_context_window_skips_to_one_large_enough()
    {
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1", "ContextWindow=64"),
            .. GatewayServer.Deployment("chat", 1, "b", "m2", "ContextWindow=100000"),
        ]);
        var longPrompt = string.Join(' ', Enumerable.Repeat("elephant", 200));

        using var big = await gw.SendAsync(GatewayServer.Chat("chat", stream: false, longPrompt));
        using var small = await gw.SendAsync(GatewayServer.Chat("chat", stream: false, "hi"));

        Assert.Equal(HttpStatusCode.OK, big.StatusCode);
        Assert.Equal("a/m1(context) -> b/m2(ok)", big.Get("x-sanjia-route"));
        Assert.Equal("a/m1", small.Get("x-sanjia-deployment"));
        Assert.Single(_a.Requests); // the long prompt never went to the small model
    }

    [Fact]
    public async Task A_prompt_no_deployment_can_hold_gets_a_clear_400()
    {
        await using var gw = await StartGatewayAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1", "ContextWindow=64"),
        ]);

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true, string.Join(' ', Enumerable.Repeat("elephant", 200))));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("64 tokens", error.GetProperty("message").GetString());
        Assert.Empty(_a.Requests);
    }

    [Fact]
    public async Task An_upstream_context_length_refusal_falls_back_but_other_client_errors_do_not()
    {
        _a.Enqueue(
            FakeBehavior.Status(400, "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."),
            FakeBehavior.Status(422, "temperature is invalid"));
        await using var gw = await TwoVendors();

        using var overflow = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
        using var invalid = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));

        Assert.Equal(HttpStatusCode.OK, overflow.StatusCode);
        Assert.Equal("a/m1(400) -> b/m2(ok)", overflow.Get("x-sanjia-route"));
        Assert.Equal((HttpStatusCode)422, invalid.StatusCode);
        Assert.Equal("a/m1(422)", invalid.Get("x-sanjia-route"));
        Assert.Single(_b.Requests);
    }

    [Fact]
    public async Task A_slow_but_steady_stream_longer_than_every_timeout_survives()
    {
        // 12 chunks 250 ms apart ≈ 3 s: longer than the first-token and provider request timeouts (1 s each) and
        // the idle limit (2 s, eight gaps' worth so a loaded machine does not trip it).
        _a.Enqueue(FakeBehavior.StreamChunks(12, TimeSpan.FromMilliseconds(250)));
        await using var gw = await TwoVendors("--Sanjia:Timeouts:RequestSeconds=1", "--Sanjia:Routing:Timeouts:StreamIdleSeconds=2");

        var clock = Stopwatch.StartNew();
        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(2.5));
        Assert.Equal(12, sse.ContentChunks);
        Assert.True(sse.Done);
        Assert.Null(sse.Error);
    }

    [Fact]
    public async Task A_configured_total_limit_does_cut_a_long_stream()
    {
        _a.Enqueue(FakeBehavior.StreamChunks(40, TimeSpan.FromMilliseconds(100)));
        await using var gw = await TwoVendors("--Sanjia:Routing:Timeouts:TotalSeconds=1");

        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.False(sse.Done);
        Assert.InRange(sse.ContentChunks, 1, 39);
        Assert.Contains("total limit", sse.Error);
    }

    [Fact]
    public async Task The_callers_timeout_header_falls_back_sooner_and_does_not_count_against_the_vendor()
    {
        _a.Enqueue(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(20)));
        await using var gw = await TwoVendors("--Sanjia:Routing:Timeouts:FirstTokenSeconds=30");
        var request = GatewayServer.Chat("chat", stream: false);
        request.Headers.Add("x-sanjia-timeout", "1");

        var clock = Stopwatch.StartNew();
        using var response = await gw.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Equal("a/m1(timeout) -> b/m2(ok)", response.Get("x-sanjia-route"));
        var a = await gw.DeploymentAsync("a/m1");
        Assert.Equal(0, a.GetProperty("failures").GetInt32());
        Assert.Equal("closed", a.GetProperty("breaker").GetString());
    }

    [Fact]
    public async Task A_timeout_header_that_is_not_a_number_is_a_400()
    {
        await using var gw = await TwoVendors();
        var request = GatewayServer.Chat("chat", stream: false);
        request.Headers.Add("x-sanjia-timeout", "soon");

        using var response = await gw.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("x-sanjia-timeout", await response.Content.ReadAsStringAsync());
    }
}
