using System.Diagnostics;
using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>
/// The router's one stream-activity timeout over real sockets: a translated vendor gone silent mid-answer is cut as an
/// OpenAI-compatible one is (FaultTests.A_stall_mid_stream_ends_the_stream_with_an_error_event_and_no_done), and the
/// idle limit does not apply before the first chunk, which is the first-token timeout's to judge.
/// </summary>
public sealed class StreamActivityTimeoutTests
{
    [Fact]
    public async Task A_translated_vendor_gone_silent_mid_answer_is_cut_after_the_idle_time_with_an_error_event_and_no_done()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("claude", fake.BaseUrl, fake.ApiKey, type: "anthropic"),
            "--Sanjia:Routing:Timeouts:StreamIdleSeconds=1",
        ]);
        fake.Enqueue(new FakeAnthropicReply { Text = "one two three", StallAfterFirstDelta = TimeSpan.FromSeconds(30) });

        var clock = Stopwatch.StartNew();
        using var response = await gateway.SendAsync(GatewayServer.Chat("claude/claude-sonnet-4-5", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("one", sse.Text);
        Assert.False(sse.Done);
        Assert.Contains("timeout_error", sse.Error);
        Assert.Contains("no stream data for 1 s", sse.Error);
        // Cut by the idle limit, long before the vendor would have carried on.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(25));
    }

    [Fact]
    public async Task A_pause_before_the_first_chunk_longer_than_the_idle_time_is_left_to_the_first_token_timeout()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.Enqueue(FakeBehavior.StallAfterChunks(0, TimeSpan.FromSeconds(1.5)) with { ChunkCount = 3 });
        await using var gateway = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("a", upstream.BaseUrl, upstream.ApiKey),
            "--Sanjia:Routing:Timeouts:StreamIdleSeconds=0.5",
            "--Sanjia:Routing:Timeouts:FirstTokenSeconds=20",
        ]);

        using var response = await gateway.SendAsync(GatewayServer.Chat("a/m1", stream: true));
        var sse = await SseRead.ReadAsync(response);

        Assert.Equal("a/m1(ok)", response.Get("x-sanjia-route"));
        Assert.Null(sse.Error);
        Assert.True(sse.Done);
        Assert.Equal(3, sse.ContentChunks);
    }
}
