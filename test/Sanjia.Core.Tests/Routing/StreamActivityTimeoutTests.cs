using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Tests.Routing;

/// <summary>
/// The router's one stream-activity timeout (docs/routing.md, "Timeouts"), on a fake clock: it cuts a stream that has
/// gone silent after its first chunk, counts only the time the upstream is being read, leaves the time before the
/// first chunk to the first-token timeout, and is pooled and re-armed without allocating.
/// </summary>
public class StreamActivityTimeoutTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstToken = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static RoutingOptions Options() => new()
    {
        Retry = new RetryOptions { MaxAttempts = 2 },
        Timeouts = new RouteTimeoutOptions { FirstTokenSeconds = FirstToken.TotalSeconds, StreamIdleSeconds = Idle.TotalSeconds },
    };

    private static Task<(ChatContext? Context, ChatOutcome Outcome)> SendAsync(ScriptedGateway gateway) =>
        gateway.Engine.ChatAsync(
            ChatRequestParser.Parse("""{"model":"chat","stream":true,"messages":[{"role":"user","content":"hello"}]}"""u8.ToArray()).Request!,
            Caller.Master, "r", "/v1/chat/completions", 0, CancellationToken.None).AsTask();

    [Fact]
    public async Task A_stream_silent_for_the_idle_time_after_a_chunk_is_cut_as_an_upstream_timeout()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(ScriptedStream.Counting(5, stallAfter: 2));
        var gateway = ScriptedGateway.Create(Options(), time, new ScriptedRandom(0.0), [a]);
        var (_, outcome) = await SendAsync(gateway).WaitAsync(Patience);
        await using var stream = (StreamingChatResponse)outcome.Response!;

        Assert.True(await stream.MoveNextAsync(CancellationToken.None)); // the peeked first chunk
        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        var stalled = stream.MoveNextAsync(CancellationToken.None).AsTask();
        Assert.Equal(Idle, await time.NextTimerAsync(t => t == Idle));
        Assert.False(stalled.IsCompleted);
        time.Advance(Idle);

        var error = (await Assert.ThrowsAsync<GatewayException>(() => stalled.WaitAsync(Patience))).Error;
        Assert.Equal((GatewayErrorKind.UpstreamTimeout, UpstreamErrorCodes.Timeout), (error.Kind, error.Code));
        Assert.Equal("a/m-a stalled: no stream data for 10 s.", error.Message);
    }

    [Fact]
    public async Task The_time_the_client_takes_between_reads_is_not_upstream_silence()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(ScriptedStream.Counting(5));
        var gateway = ScriptedGateway.Create(Options(), time, new ScriptedRandom(0.0), [a]);
        var (_, outcome) = await SendAsync(gateway).WaitAsync(Patience);
        await using var stream = (StreamingChatResponse)outcome.Response!;
        Assert.True(await stream.MoveNextAsync(CancellationToken.None));
        Assert.True(await stream.MoveNextAsync(CancellationToken.None));

        time.Advance(Idle * 3); // a client slow to take the chunk: no read is waiting on the upstream
        var chunks = 2;
        while (await stream.MoveNextAsync(CancellationToken.None).AsTask().WaitAsync(Patience)) chunks++;

        Assert.Equal(5, chunks);
    }

    [Fact]
    public async Task Before_the_first_chunk_only_the_first_token_timeout_applies_and_it_falls_back()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(ScriptedStream.Counting(5, stallAfter: 0));
        var b = new ScriptedProvider("b");
        var gateway = ScriptedGateway.Create(Options(), time, new ScriptedRandom(0.0), [a, b]);

        var call = SendAsync(gateway);
        Assert.Equal(FirstToken, await time.NextTimerAsync(t => t == FirstToken));
        time.Advance(FirstToken - TimeSpan.FromSeconds(1)); // far past the idle limit
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        var (context, outcome) = await call.WaitAsync(Patience);

        Assert.Equal("a/m-a(timeout) -> b/m-b(ok)", string.Join(" -> ", context!.Route));
        await ((StreamingChatResponse)outcome.Response!).DisposeAsync();
    }

    [Fact]
    public void The_activity_timeout_re_arms_at_most_once_per_resolution_and_without_allocating()
    {
        var time = new RecordingTimeProvider();
        var activity = ActivityTimeout.Rent(Idle, time, CancellationToken.None, CancellationToken.None);
        Assert.Equal(Idle, Assert.Single(time.DrainTimers()));

        for (var i = 0; i < 100; i++) activity.Reset(CancellationToken.None);
        Assert.Empty(time.DrainTimers()); // the clock did not move: nothing to re-arm
        time.Advance(ActivityTimeout.Resolution + TimeSpan.FromMilliseconds(1));
        activity.Reset(CancellationToken.None);
        Assert.Equal(Idle, Assert.Single(time.DrainTimers()));

        time.Advance(Idle - TimeSpan.FromMilliseconds(1));
        Assert.False(activity.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(activity.IsCancellationRequested);
        activity.Return();

        var pooled = ActivityTimeout.Rent(Idle, TimeProvider.System, CancellationToken.None, CancellationToken.None);
        var caller = new CancellationTokenSource();
        pooled.Reset(caller.Token);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++) pooled.Reset(caller.Token);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        caller.Cancel(); // the link holds
        Assert.True(pooled.IsCancellationRequested);
        pooled.Return();
    }

    [Fact]
    public void Activity_timeouts_on_the_system_clock_come_from_a_pool_and_a_fired_one_is_not_reused()
    {
        // Other tests may rent and return at the same time: count distinct instances rather than expect the same one.
        var seen = new HashSet<ActivityTimeout>();
        for (var i = 0; i < 1_000; i++)
        {
            var source = ActivityTimeout.Rent(Idle, TimeProvider.System, CancellationToken.None, CancellationToken.None);
            seen.Add(source);
            source.Return();
        }
        Assert.InRange(seen.Count, 1, 50);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var fired = ActivityTimeout.Rent(Idle, TimeProvider.System, cancelled.Token, CancellationToken.None);
        Assert.True(fired.IsCancellationRequested);
        fired.Return();
        Assert.Throws<ObjectDisposedException>(() => fired.Token); // disposed, not pooled
    }
}
