using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Tests.Routing;

/// <summary>
/// A request reads the configuration once: the router applies the routing options of the snapshot the request
/// resolved its model in, so a swap in the middle of a request never pairs its aliases with another snapshot's retries.
/// </summary>
public class SnapshotOptionsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static GatewayError Status503() =>
        new(GatewayErrorKind.UpstreamFailed, "upstream answered 503") { UpstreamStatus = 503, Code = UpstreamErrorCodes.Error };

    private static RoutingOptions Attempts(int n) => new() { Retry = new RetryOptions { MaxAttempts = n } };

    /// <summary>Alias <c>chat</c> over a then b, with <paramref name="routing"/> as the snapshot's routing options.</summary>
    private static GatewaySnapshot Snapshot(ScriptedProvider a, ScriptedProvider b, RoutingOptions routing)
    {
        var aliases = new Dictionary<string, AliasOptions>
        {
            ["chat"] = new() { Deployments = [new() { Provider = "a", Model = "m-a" }, new() { Provider = "b", Model = "m-b" }] },
        };
        var errors = new ConfigErrors();
        var snapshot = new GatewaySnapshot(new ModelRegistry([a, b], aliases, errors, DateTimeOffset.UnixEpoch, routing));
        Assert.False(errors.Any);
        return snapshot;
    }

    private static async Task<(ChatContext Context, ChatOutcome Outcome)> SendAsync(GatewayEngine engine)
    {
        var request = ChatRequestParser.Parse("""{"model":"chat","messages":[{"role":"user","content":"hello"}]}"""u8.ToArray()).Request!;
        var (context, outcome) = await engine.ChatAsync(request, Caller.Master, "r", "/v1/chat/completions", 0, CancellationToken.None).AsTask().WaitAsync(Patience);
        return (context!, outcome);
    }

    [Fact]
    public async Task A_request_keeps_its_snapshots_routing_options_when_a_new_snapshot_is_swapped_in_mid_request()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = new ScriptedProvider("a", Status503()).Then(async (_, ct) =>
        {
            entered.TrySetResult();
            await release.Task.WaitAsync(ct);
            return Status503();
        });
        var b = new ScriptedProvider("b");
        // The router's own options (3 attempts) are for models resolved outside a snapshot; these all come from one.
        var engine = ScriptedGateway.Create(Attempts(3), a, b).Engine;
        engine.Swap(Snapshot(a, b, Attempts(1)));

        var first = SendAsync(engine);
        await entered.Task.WaitAsync(Patience);
        engine.Swap(Snapshot(a, b, Attempts(2)));
        release.SetResult();
        var (context, outcome) = await first;

        // One attempt, as its snapshot said: a failed, and b (which a second attempt would have reached) was not asked.
        Assert.Equal(503, outcome.Error!.UpstreamStatus);
        Assert.Equal(1, context.Attempts);
        Assert.Empty(b.Calls);

        // A request that starts after the swap has the new snapshot's two attempts.
        var (next, answered) = await SendAsync(engine);
        Assert.True(answered.IsSuccess);
        Assert.Equal(2, next.Attempts);
        Assert.Single(b.Calls);
    }
}
