using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Tests.Routing;

/// <summary>
/// The router's timing, as docs/routing.md describes it, on a fake clock and scripted jitter: backoff rounds, the
/// Retry-After cap and cool-downs, half-open probes, and what a caller is told when no deployment can take it.
/// Nothing sleeps: each test waits until the router has started a timer, checks its due time, then moves the clock.
/// </summary>
public class ResilientRouterTests
{
    // The default RouteTimeoutOptions.FirstTokenSeconds: every attempt starts one such timer; the tests skip them.
    private static readonly TimeSpan FirstToken = TimeSpan.FromSeconds(120);
    // Only a broken router makes a test wait this long (instead of hanging on a fake clock nobody moves).
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static bool NotFirstToken(TimeSpan due) => due != FirstToken;

    private static GatewayError Status503() =>
        new(GatewayErrorKind.UpstreamFailed, "upstream answered 503") { UpstreamStatus = 503, Code = UpstreamErrorCodes.Error };

    private static GatewayError Status429(double retryAfterSeconds) =>
        new(GatewayErrorKind.RateLimited, "slow down") { UpstreamStatus = 429, Code = UpstreamErrorCodes.RateLimited, RetryAfter = TimeSpan.FromSeconds(retryAfterSeconds) };

    private static CompleteChatResponse Answer() => new("{}"u8.ToArray(), new TokenUsage(3, 4));

    private static RoutingOptions Options(int maxAttempts = 4, double baseDelay = 0.25, double maxDelay = 8, double maxRetryAfter = 10,
        int consecutiveFailures = 100, double breakSeconds = 30) => new()
    {
        Retry = new RetryOptions { MaxAttempts = maxAttempts, BaseDelaySeconds = baseDelay, MaxDelaySeconds = maxDelay, MaxRetryAfterSeconds = maxRetryAfter },
        Health = new HealthOptions { ConsecutiveFailures = consecutiveFailures, BreakSeconds = breakSeconds, MinimumRequests = 1000 },
    };

    private static async Task<(ChatContext Context, ChatOutcome Outcome)> SendAsync(ScriptedGateway gateway)
    {
        var request = ChatRequestParser.Parse("""{"model":"chat","messages":[{"role":"user","content":"hello"}]}"""u8.ToArray()).Request!;
        var (context, outcome) = await gateway.Engine.ChatAsync(request, Caller.Master, "r", "/v1/chat/completions", 0, CancellationToken.None)
            .AsTask().WaitAsync(Patience);
        return (context!, outcome);
    }

    private static string Route(ChatContext context) => string.Join(" -> ", context.Route);

    /// <summary>A scripted answer that waits for <paramref name="release"/>, telling <paramref name="entered"/> when it started.</summary>
    private static Func<ChatCall, CancellationToken, ValueTask<ChatOutcome>> Held(TaskCompletionSource entered, TaskCompletionSource release) =>
        async (_, ct) =>
        {
            entered.TrySetResult();
            await release.Task.WaitAsync(ct);
            return Answer();
        };

    [Fact]
    public async Task Backoff_rounds_wait_base_times_two_to_the_round_capped_at_the_maximum_and_jittered_by_the_draw()
    {
        var time = new RecordingTimeProvider();
        var random = new ScriptedRandom(0.0, 0.5, 0.5);
        var a = new ScriptedProvider("a", Status503());
        var gateway = ScriptedGateway.Create(Options(maxAttempts: 4, baseDelay: 1, maxDelay: 3), time, random, [a]);

        var call = SendAsync(gateway);
        // d = min(3, 1·2^round), waited d·(0.5 + 0.5·draw): 1·0.5, 2·0.75, then 3 (not 4)·0.75.
        foreach (var (expected, callsBefore) in new[] { (0.5, 1), (1.5, 2), (2.25, 3) })
        {
            var due = await time.NextTimerAsync(NotFirstToken);
            Assert.Equal(TimeSpan.FromSeconds(expected), due);
            Assert.Equal(callsBefore, a.Calls.Count);
            time.Advance(due);
        }
        var (context, outcome) = await call;

        Assert.Equal(503, outcome.Error!.UpstreamStatus);
        Assert.Equal(4, a.Calls.Count);
        Assert.Equal((4, 3, 0), (context.Attempts, context.Retries, context.Fallbacks));
        Assert.Equal("a/m-a(503) -> a/m-a(503) -> a/m-a(503) -> a/m-a(503)", Route(context));
        Assert.Equal(3, random.Taken); // one draw per wait
        Assert.DoesNotContain(time.DrainTimers(), NotFirstToken); // no wait after the budget was spent
    }

    [Fact]
    public async Task A_retry_after_within_the_cap_is_waited_for_exactly_instead_of_the_shorter_backoff()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(Status429(5));
        var gateway = ScriptedGateway.Create(Options(baseDelay: 0.25, maxRetryAfter: 10), time, new ScriptedRandom(0.0), [a]);

        var call = SendAsync(gateway);
        var due = await time.NextTimerAsync(NotFirstToken);
        Assert.Equal(TimeSpan.FromSeconds(5), due); // not the 0.125 s backoff
        Assert.Single(a.Calls);
        time.Advance(due);
        var (context, outcome) = await call;

        Assert.True(outcome.IsSuccess);
        Assert.Equal("a/m-a(429) -> a/m-a(ok)", Route(context));
        Assert.Equal(1, context.Retries);
    }

    [Theory]
    [InlineData(10.5)]
    [InlineData(60)]
    public async Task A_retry_after_beyond_MaxRetryAfterSeconds_is_not_waited_for_and_reaches_the_caller(double retryAfter)
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(Status429(retryAfter));
        var gateway = ScriptedGateway.Create(Options(maxRetryAfter: 10), time, new ScriptedRandom(0.0), [a]);

        // The clock never moves: a wait would not end (and SendAsync would fail after its patience).
        var (context, outcome) = await SendAsync(gateway);

        Assert.Equal(429, ErrorStatus.For(outcome.Error!));
        Assert.Equal(TimeSpan.FromSeconds(retryAfter), outcome.Error!.RetryAfter);
        Assert.Single(a.Calls);
        Assert.Equal("a/m-a(429)", Route(context));
        Assert.DoesNotContain(time.DrainTimers(), NotFirstToken);
    }

    [Fact]
    public async Task A_cooling_deployment_is_skipped_in_later_rounds_while_the_others_are_retried_after_the_backoff()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(Status429(30));
        var b = new ScriptedProvider("b", Status503());
        var gateway = ScriptedGateway.Create(Options(maxAttempts: 3, baseDelay: 0.25, maxRetryAfter: 10), time, new ScriptedRandom(0.0), [a, b]);

        var call = SendAsync(gateway);
        var due = await time.NextTimerAsync(NotFirstToken);
        Assert.Equal(TimeSpan.FromSeconds(0.125), due); // b's backoff, not a's 30 s (which is over the cap)
        time.Advance(due);
        var (context, outcome) = await call;

        Assert.Equal("a/m-a(429) -> b/m-b(503) -> a/m-a(cooling) -> b/m-b(503)", Route(context));
        Assert.Single(a.Calls);
        // The budget is spent: the last error, with the time until a's cool-down ends as its Retry-After.
        Assert.Equal(502, ErrorStatus.For(outcome.Error!));
        Assert.Equal(TimeSpan.FromSeconds(30 - 0.125), outcome.Error!.RetryAfter);
    }

    [Fact]
    public async Task A_request_that_finds_every_deployment_cooling_is_told_why_with_the_time_left()
    {
        var time = new RecordingTimeProvider();
        var cause = Status429(30) with { Message = "Rate limit reached for requests per minute" };
        var a = new ScriptedProvider("a").Then(cause);
        var gateway = ScriptedGateway.Create(Options(maxRetryAfter: 10), time, new ScriptedRandom(0.0), [a]);
        await SendAsync(gateway);

        time.Advance(TimeSpan.FromSeconds(12));
        var (context, outcome) = await SendAsync(gateway);

        Assert.Single(a.Calls); // not called again while it cools down
        Assert.Equal("a/m-a(cooling)", Route(context));
        Assert.Equal(0, context.Attempts);
        var error = outcome.Error!;
        Assert.Equal((GatewayErrorKind.RateLimited, UpstreamErrorCodes.RateLimited, cause.Message), (error.Kind, error.Code, error.Message));
        Assert.Equal(TimeSpan.FromSeconds(18), error.RetryAfter);
    }

    [Fact]
    public async Task After_the_break_one_probe_at_a_time_is_let_through_and_its_success_closes_the_breaker()
    {
        var time = new RecordingTimeProvider();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = new ScriptedProvider("a").Then(Status503()).Then(Held(entered, release));
        var b = new ScriptedProvider("b");
        var gateway = ScriptedGateway.Create(Options(consecutiveFailures: 1, breakSeconds: 30), time, new ScriptedRandom(0.0), [a, b]);

        Assert.Equal("a/m-a(503) -> b/m-b(ok)", Route((await SendAsync(gateway)).Context)); // opens a's breaker
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("a/m-a(open) -> b/m-b(ok)", Route((await SendAsync(gateway)).Context));

        time.Advance(TimeSpan.FromSeconds(1));
        var probe = SendAsync(gateway);
        await entered.Task.WaitAsync(Patience);
        // While the probe is out, a is still closed to everyone else.
        Assert.Equal("a/m-a(open) -> b/m-b(ok)", Route((await SendAsync(gateway)).Context));
        Assert.Equal(2, a.Calls.Count);

        release.SetResult();
        Assert.Equal("a/m-a(ok)", Route((await probe).Context));
        Assert.Equal("a/m-a(ok)", Route((await SendAsync(gateway)).Context)); // closed again
        Assert.Equal("a/m-a(ok)", Route((await SendAsync(gateway)).Context));
        Assert.Equal(4, a.Calls.Count);
    }

    [Fact]
    public async Task A_failed_probe_opens_the_breaker_for_another_full_break()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a").Then(Status503()).Then(Status503());
        var b = new ScriptedProvider("b");
        var gateway = ScriptedGateway.Create(Options(consecutiveFailures: 1, breakSeconds: 30), time, new ScriptedRandom(0.0), [a, b]);
        await SendAsync(gateway);

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("a/m-a(503) -> b/m-b(ok)", Route((await SendAsync(gateway)).Context)); // the probe fails
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("a/m-a(open) -> b/m-b(ok)", Route((await SendAsync(gateway)).Context));
        Assert.Equal(2, a.Calls.Count);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("a/m-a(ok)", Route((await SendAsync(gateway)).Context));
    }

    [Fact]
    public async Task When_every_deployment_is_open_the_caller_gets_no_healthy_deployment_until_the_first_probe()
    {
        var time = new RecordingTimeProvider();
        var a = new ScriptedProvider("a", Status503());
        var b = new ScriptedProvider("b").Then(Answer()).Then(Status503());
        var gateway = ScriptedGateway.Create(Options(consecutiveFailures: 1, breakSeconds: 30), time, new ScriptedRandom(0.0), [a, b]);
        Assert.Equal("a/m-a(503) -> b/m-b(ok)", Route((await SendAsync(gateway)).Context)); // a is open until 30 s
        time.Advance(TimeSpan.FromSeconds(10));
        var opening = SendAsync(gateway);
        var backoff = await time.NextTimerAsync(NotFirstToken); // b failed transiently: one backoff, then b is open
        time.Advance(backoff);
        Assert.Equal("a/m-a(open) -> b/m-b(503) -> b/m-b(open)", Route((await opening).Context)); // b is open until 40 s

        time.Advance(TimeSpan.FromSeconds(5) - backoff);
        var (context, outcome) = await SendAsync(gateway);

        Assert.Equal("a/m-a(open) -> b/m-b(open)", Route(context));
        Assert.Equal(0, context.Attempts);
        Assert.Equal(429, ErrorStatus.For(outcome.Error!));
        Assert.Equal("no_healthy_deployment", outcome.Error!.Code);
        Assert.Equal(TimeSpan.FromSeconds(15), outcome.Error.RetryAfter); // a's probe is due first
        Assert.DoesNotContain(time.DrainTimers(), NotFirstToken); // nothing to wait for: open deployments are not retried
    }

    [Fact]
    public async Task A_deployment_at_its_limit_is_retried_after_each_backoff_and_busy_wins_over_open_in_the_answer()
    {
        var time = new RecordingTimeProvider();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var b = new ScriptedProvider("b").Then(Status503());
        var a = new ScriptedProvider("a").Then(Answer()).Then(Held(entered, release));
        var gateway = ScriptedGateway.Create(Options(maxAttempts: 3, baseDelay: 1, consecutiveFailures: 1, breakSeconds: 30), time,
            new ScriptedRandom(0.0), [b, a], (p, d) => d.MaxConcurrentRequests = p.Name == "a" ? 1 : null);
        Assert.Equal("b/m-b(503) -> a/m-a(ok)", Route((await SendAsync(gateway)).Context)); // b opens
        var holder = SendAsync(gateway);
        await entered.Task.WaitAsync(Patience); // a's one slot is taken

        var call = SendAsync(gateway);
        // Three rounds, two waits between them (1·0.5 then 2·0.5 s); none after the last round.
        foreach (var expected in new[] { 0.5, 1.0 })
        {
            var due = await time.NextTimerAsync(NotFirstToken);
            Assert.Equal(TimeSpan.FromSeconds(expected), due);
            time.Advance(due);
        }
        var (context, outcome) = await call;

        Assert.Equal("b/m-b(open) -> a/m-a(busy) -> a/m-a(busy) -> a/m-a(busy)", Route(context));
        Assert.Equal(0, context.Attempts);
        Assert.Equal(429, ErrorStatus.For(outcome.Error!));
        Assert.Equal("deployments_busy", outcome.Error!.Code);
        Assert.Equal(TimeSpan.FromSeconds(1), outcome.Error.RetryAfter); // a slot frees when a request ends: soon
        Assert.DoesNotContain(time.DrainTimers(), NotFirstToken);
        Assert.Equal(2, a.Calls.Count);

        release.SetResult();
        Assert.Equal("b/m-b(open) -> a/m-a(ok)", Route((await holder).Context));
    }
}
