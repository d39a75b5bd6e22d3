using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Tests.Pipeline;

public class PipelineTests
{
    private static ChatRequest Request(bool stream = false) =>
        ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(
            $$"""{"model":"chat","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hello there"}]}""")).Request!;

    private static (GatewayEngine Engine, RecordingLedger Ledger) Engine(params ScriptedProvider[] providers)
    {
        var gateway = ScriptedGateway.Create(providers);
        return (gateway.Engine, gateway.Ledger);
    }

    [Theory]
    [InlineData(GatewayErrorKind.UpstreamFailed)]
    [InlineData(GatewayErrorKind.UpstreamUnreachable)]
    [InlineData(GatewayErrorKind.UpstreamTimeout)]
    [InlineData(GatewayErrorKind.RateLimited)]
    public async Task Falls_back_to_the_next_deployment_on_failures_another_may_not_share(GatewayErrorKind kind)
    {
        var a = new ScriptedProvider("a", new GatewayError(kind, "down"));
        var b = new ScriptedProvider("b", null);
        var (engine, ledger) = Engine(a, b);

        var (context, outcome) = await engine.ChatAsync(Request(), Caller.Master, "req_1", "/v1/chat/completions", 0, CancellationToken.None);

        Assert.True(outcome.IsSuccess);
        Assert.Equal("b/m-b", context!.Deployment!.Id);
        Assert.Equal(2, context.Attempts);
        Assert.Equal(1, context.Fallbacks);
        Assert.Equal(["m-a"], a.Calls);
        Assert.Equal(["m-b"], b.Calls);
        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(200, entry.Status);
        Assert.Equal("b/m-b", entry.Deployment);
        Assert.Equal(2, entry.Attempt);
    }

    [Fact]
    public async Task Does_not_fall_back_on_client_errors()
    {
        var a = new ScriptedProvider("a", new GatewayError(GatewayErrorKind.UpstreamRejected, "bad") { UpstreamStatus = 422 });
        var b = new ScriptedProvider("b", null);
        var (engine, ledger) = Engine(a, b);

        var (_, outcome) = await engine.ChatAsync(Request(), Caller.Master, "req_1", "/v1/chat/completions", 0, CancellationToken.None);

        Assert.Equal(422, ErrorStatus.For(outcome.Error!));
        Assert.Empty(b.Calls);
        Assert.Equal(422, Assert.Single(ledger.Entries).Status);
    }

    [Fact]
    public async Task Unknown_models_are_not_found_and_not_metered_as_calls()
    {
        var (engine, _) = Engine(new ScriptedProvider("a", null));
        var (context, outcome) = await engine.ChatAsync(
            ChatRequestParser.Parse("""{"model":"nope","messages":[{"role":"user","content":"x"}]}"""u8.ToArray()).Request!,
            Caller.Master, "r", "/v1/chat/completions", 0, CancellationToken.None);
        Assert.Null(context);
        Assert.Equal(404, ErrorStatus.For(outcome.Error!));
    }

    [Fact]
    public async Task A_stream_is_metered_once_when_disposed_with_the_usage_so_far()
    {
        var a = new ScriptedProvider("a", null);
        var (engine, ledger) = Engine(a);
        var (_, outcome) = await engine.ChatAsync(Request(stream: true), Caller.Master, "req_s", "/v1/chat/completions", 0, CancellationToken.None);
        var stream = Assert.IsAssignableFrom<StreamingChatResponse>(outcome.Response);

        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        Assert.Empty(ledger.Entries); // nothing until the stream ends
        await stream.DisposeAsync();
        await stream.DisposeAsync();

        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(499, entry.Status); // the consumer stopped before the end
        Assert.Equal(1, entry.Usage.Output);
        Assert.True(entry.Stream);
    }

    [Fact]
    public async Task A_stream_that_fails_midway_is_metered_with_the_failure()
    {
        var a = new ScriptedProvider("a", null) { FailStreamAfter = 2 };
        var (engine, ledger) = Engine(a);
        var (_, outcome) = await engine.ChatAsync(Request(stream: true), Caller.Master, "req_f", "/v1/chat/completions", 0, CancellationToken.None);
        await using (var stream = (StreamingChatResponse)outcome.Response!)
        {
            Assert.True(await stream.MoveNextAsync(CancellationToken.None));
            Assert.True(await stream.MoveNextAsync(CancellationToken.None));
            await Assert.ThrowsAsync<GatewayException>(() => stream.MoveNextAsync(CancellationToken.None).AsTask());
        }
        var entry = Assert.Single(ledger.Entries);
        Assert.Equal(502, entry.Status);
        Assert.Equal(2, entry.Usage.Output);
    }
}
