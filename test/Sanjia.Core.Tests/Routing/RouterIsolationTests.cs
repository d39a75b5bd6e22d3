using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Tests.Routing;

/// <summary>
/// Evaluation traffic (<see cref="Caller.IsEvaluation"/>) neither trips nor reads the production breaker: its
/// failures are not counted, and a breaker opened by production traffic does not keep it from a deployment.
/// </summary>
public class RouterIsolationTests
{
    private static ChatRequest Request() =>
        ChatRequestParser.Parse("""{"model":"chat","messages":[{"role":"user","content":"hello"}]}"""u8.ToArray()).Request!;

    // One failure opens a breaker, and it stays open for the whole test (the fake clock does not move).
    private static GatewayEngine Engine(params ScriptedProvider[] providers) =>
        ScriptedGateway.Create(new RoutingOptions { Health = new HealthOptions { ConsecutiveFailures = 1, BreakSeconds = 600 } }, providers).Engine;

    private static readonly Caller Evaluation = new("key_eval", null, IsMaster: false) { IsEvaluation = true };
    private static readonly Caller Production = new("key_prod", null, IsMaster: false);

    private static async Task<ChatContext> SendAsync(GatewayEngine engine, Caller caller)
    {
        var (context, outcome) = await engine.ChatAsync(Request(), caller, "r", "/v1/chat/completions", 0, CancellationToken.None);
        Assert.True(outcome.IsSuccess);
        return context!;
    }

    [Fact]
    public async Task Evaluation_failures_do_not_open_the_breaker_for_production_traffic()
    {
        var a = new ScriptedProvider("a", new GatewayError(GatewayErrorKind.UpstreamFailed, "down"));
        var b = new ScriptedProvider("b", null);
        var engine = Engine(a, b);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("a/m-a(error) -> b/m-b(ok)", string.Join(" -> ", (await SendAsync(engine, Evaluation)).Route));
        }
        // Production traffic still finds a's breaker closed: it calls a (and its failure now opens the breaker).
        Assert.Equal("a/m-a(error) -> b/m-b(ok)", string.Join(" -> ", (await SendAsync(engine, Production)).Route));
        Assert.Equal(4, a.Calls.Count);
        Assert.Equal("a/m-a(open) -> b/m-b(ok)", string.Join(" -> ", (await SendAsync(engine, Production)).Route));
        Assert.Equal(4, a.Calls.Count);
    }

    [Fact]
    public async Task Evaluation_traffic_does_not_read_a_breaker_production_opened()
    {
        var a = new ScriptedProvider("a", new GatewayError(GatewayErrorKind.UpstreamFailed, "down"));
        var b = new ScriptedProvider("b", null);
        var engine = Engine(a, b);
        await SendAsync(engine, Production); // opens a's breaker

        var evaluated = await SendAsync(engine, Evaluation);

        // The model under evaluation is measured as it is, not hidden behind production's breaker.
        Assert.Equal("a/m-a(error) -> b/m-b(ok)", string.Join(" -> ", evaluated.Route));
        Assert.Equal(2, a.Calls.Count);
        Assert.Equal("a/m-a(open) -> b/m-b(ok)", string.Join(" -> ", (await SendAsync(engine, Production)).Route));
    }
}
