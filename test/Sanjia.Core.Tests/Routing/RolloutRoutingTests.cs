using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;
using Sanjia.Testing;

namespace Sanjia.Core.Tests.Routing;

/// <summary>
/// How the router splits an alias during a rollout (docs/routing.md, "Gradual rollouts"), with scripted draws: alias
/// <c>chat</c> lists <c>a/m-a</c> then <c>b/m-b</c>; the rollout's candidate is <c>b/m-b</c> (listed) or <c>c/m-c</c> (not).
/// </summary>
public sealed class RolloutRoutingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static (GatewayEngine Engine, RecordingLedger Ledger) Gateway(IRandomSource random, string candidate, int percent, params ScriptedProvider[] providers)
    {
        var aliases = new Dictionary<string, AliasOptions>
        {
            ["chat"] = new() { Deployments = [new() { Provider = "a", Model = "m-a" }, new() { Provider = "b", Model = "m-b" }] },
        };
        var plan = new RolloutPlan([percent, 100], 10, 0, 0.05, null);
        var rollout = new AliasRollout("chat", candidate, "m-" + candidate, plan, T0) { Steps = [new RolloutStep(percent, T0)] };
        var errors = new ConfigErrors();
        var registry = new ModelRegistry(providers, aliases, errors, T0, rollouts: [rollout]);
        Assert.False(errors.Any, string.Join("\n", errors.Errors));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var ledger = new RecordingLedger();
        return (new GatewayEngine(registry, ledger, time, RoutingServiceCollectionExtensions.CreateRouter(new RoutingOptions(), time, random)), ledger);
    }

    private static async Task<string> RouteAsync(GatewayEngine engine)
    {
        var request = ChatRequestParser.Parse("""{"model":"chat","messages":[{"role":"user","content":"hello"}]}"""u8.ToArray()).Request!;
        var (context, outcome) = await engine.ChatAsync(request, Caller.Master, Guid.NewGuid().ToString("N"), "/v1/chat/completions", 0, CancellationToken.None);
        Assert.Null(outcome.Error);
        return string.Join(" -> ", context!.Route);
    }

    [Fact]
    public async Task A_draw_under_the_share_tries_the_candidate_first_and_the_others_never_see_it()
    {
        var (engine, _) = Gateway(new ScriptedRandom(0.24, 0.25, 0.0, 0.99), "c", 25,
            new ScriptedProvider("a", new GatewayError(GatewayErrorKind.UpstreamFailed, "down") { UpstreamStatus = 503 }), new ScriptedProvider("b"), new ScriptedProvider("c"));

        // 0.24·100 < 25: candidate first; 0.25·100 is not: the usual order (a fails, b answers) without the candidate.
        Assert.Equal("c/m-c(ok)", await RouteAsync(engine));
        Assert.Equal("a/m-a(503) -> b/m-b(ok)", await RouteAsync(engine));
        Assert.Equal("c/m-c(ok)", await RouteAsync(engine));
        Assert.Equal("a/m-a(503) -> b/m-b(ok)", await RouteAsync(engine));
    }

    [Fact]
    public async Task A_listed_candidate_leaves_the_usual_order_and_its_failed_attempt_gets_its_own_ledger_row()
    {
        var b = new ScriptedProvider("b").Then(new GatewayError(GatewayErrorKind.UpstreamFailed, "upstream answered 500") { UpstreamStatus = 500, Code = "upstream_error" });
        var (engine, ledger) = Gateway(new ScriptedRandom(0.1, 0.9), "b", 50, new ScriptedProvider("a"), b);

        // The candidate fails before any token: the usual order answers, and the failure is still in the ledger.
        Assert.Equal("b/m-b(500) -> a/m-a(ok)", await RouteAsync(engine));
        Assert.Equal("a/m-a(ok)", await RouteAsync(engine));
        var rows = ledger.Entries.ToList();
        Assert.Equal(3, rows.Count);
        Assert.Contains(rows, r => r is { Deployment: "b/m-b", Status: 502, Attempt: 1 } && r.Usage.Total == 0);
        Assert.Equal(2, rows.Count(r => r is { Deployment: "a/m-a", Status: 200 }));
    }
}
