using System.Collections.Concurrent;
using Sanjia.Abstractions;
using Sanjia.Core.Budgets;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>
/// <see cref="Sanjia.Redis.RedisSharedState"/> against a real redis-server: two instances (each with its own
/// connection, as two processes) on one budget, GCRA at the minute's edge on an injected clock, holds of a dead
/// instance expiring, Redis down and restarted.
/// </summary>
public sealed class RedisSharedStateTests(ITestOutputHelper output)
{
    private static readonly Budget Ten = new(10m, "USD", BudgetPeriod.Monthly);

    [SkippableFact]
    public async Task Three_hundred_concurrent_reservations_from_two_instances_never_hold_or_settle_more_than_the_budget()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = TimeProvider.System;
        var (a, ca) = RedisFixture.Instance(server, time, (_, _, _) => Task.FromResult(1m)); // 1 USD already in the ledger
        var (b, cb) = RedisFixture.Instance(server, time, (_, _, _) => Task.FromResult(1m));
        using var _a = ca;
        using var _b = cb;
        var scope = new BudgetScope("key", "k-300", Ten);
        var random = new Random(16);
        var holds = Enumerable.Range(0, 300).Select(_ => 0.01m + random.Next(0, 50) / 1000m).ToArray(); // 0.01–0.059 USD
        var maxHeld = 0m;
        var held = 0m;
        var gate = new Lock();

        var results = await Task.WhenAll(holds.Select((amount, i) => Task.Run(async () =>
        {
            var state = i % 2 == 0 ? a : b;
            var r = await state.AdmitAsync($"k-300", null, null, [(scope, amount)], default);
            if (r.Reservation is null) return (Admitted: false, Actual: 0m);
            lock (gate) maxHeld = Math.Max(maxHeld, held += amount);
            await Task.Delay(random.Next(1, 5));
            var actual = amount * 0.8m; // settled below the hold, as a request that stopped early
            lock (gate) held -= amount;
            state.Finish("k-300", null, 0, r.Reservation, [actual]);
            return (Admitted: true, Actual: actual);
        })));

        // Settlements are sent without waiting: poll until none is held any more.
        (decimal Spent, decimal Reserved, DateTimeOffset? ResetsAt) status = default;
        for (var i = 0; i < 100; i++)
        {
            status = await a.StatusAsync(scope, default);
            if (status.Reserved == 0) break;
            await Task.Delay(50);
        }
        var admitted = results.Count(r => r.Admitted);
        var settled = results.Sum(r => r.Actual);
        output.WriteLine($"300 concurrent reservations over two instances: {admitted} admitted, {300 - admitted} refused; " +
            $"most held at once {maxHeld} USD; settled {settled} USD; spent in Redis {status.Spent} USD (1 from the ledger); budget {Ten.Amount} USD");
        Assert.InRange(admitted, 100, 299);
        Assert.Equal(0m, status.Reserved);
        Assert.Equal(1m + settled, status.Spent);
        Assert.True(1m + maxHeld <= Ten.Amount, $"held {maxHeld} on top of 1 spent exceeds the budget");
        Assert.True(status.Spent <= Ten.Amount);
    }

    [SkippableFact]
    public async Task The_holds_of_an_instance_that_died_expire_after_HoldSeconds_and_the_budget_is_usable_again()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = RedisFixture.Clock();
        var (dead, cd) = RedisFixture.Instance(server, time, holdSeconds: 60);
        var (live, cl) = RedisFixture.Instance(server, time, holdSeconds: 60);
        using var _l = cl;
        var scope = new BudgetScope("team", "t-expiry", Ten);

        var taken = await dead.AdmitAsync("k1", null, null, [(scope, 9m)], default);
        Assert.NotNull(taken.Reservation);
        cd.Dispose(); // the instance dies with its hold unsettled

        var refused = await live.AdmitAsync("k2", null, null, [(scope, 2m)], default);
        Assert.False(refused.Admitted);
        Assert.Equal(1m, refused.Budget!.Remaining);
        Assert.Equal(9m, (await live.StatusAsync(scope, default)).Reserved);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False((await live.AdmitAsync("k2", null, null, [(scope, 2m)], default)).Admitted);
        time.Advance(TimeSpan.FromSeconds(2)); // past the hold's 60 s
        var admitted = await live.AdmitAsync("k2", null, null, [(scope, 2m)], default);
        Assert.True(admitted.Admitted);
        Assert.Equal((0m, 2m), ((await live.StatusAsync(scope, default)).Spent, (await live.StatusAsync(scope, default)).Reserved));
    }

    [SkippableFact]
    public async Task A_live_instance_renews_its_holds_so_a_long_stream_keeps_its_hold_past_HoldSeconds()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = RedisFixture.Clock();
        var (streaming, cs) = RedisFixture.Instance(server, time, holdSeconds: 30);
        var (other, co) = RedisFixture.Instance(server, time, holdSeconds: 30);
        using var _s = cs;
        using var _o = co;
        using var _st = streaming;
        using var _ot = other;
        var scope = new BudgetScope("key", "k-long", Ten);
        var stream = await streaming.AdmitAsync("k", null, null, [(scope, 9m)], default);
        Assert.True(stream.Admitted);

        // Two minutes in 5 s steps: the renewal (every 10 s) keeps the hold alive, so the budget stays taken.
        for (var i = 0; i < 24; i++)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(20); // the renewal's batch is sent without waiting
        }
        Assert.False((await other.AdmitAsync("k2", null, null, [(scope, 2m)], default)).Admitted);
        Assert.Equal(9m, (await other.StatusAsync(scope, default)).Reserved);

        // Settled: the hold goes, and is not renewed any more.
        streaming.Finish("k", null, 0, stream.Reservation, [8m]);
        await Until(async () => (await other.StatusAsync(scope, default)) is { Spent: 8m, Reserved: 0m });
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal((8m, 0m), ((await other.StatusAsync(scope, default)).Spent, (await other.StatusAsync(scope, default)).Reserved));
    }

    [SkippableFact]
    public async Task Scripts_flushed_from_Redis_are_sent_again_and_admission_and_settlement_go_on()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = RedisFixture.Clock();
        var (state, connection) = RedisFixture.Instance(server, time);
        using var _c = connection;
        using var _s = state;
        var scope = new BudgetScope("key", "k-flush", Ten);
        var first = await state.AdmitAsync("k", null, null, [(scope, 2m)], default);
        Assert.True(first.Admitted);

        // As after a Redis restart that kept the data, or an operator's SCRIPT FLUSH: the scripts' SHA-1s are unknown.
        using var admin = await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",allowAdmin=true");
        var redis = admin.GetServer(admin.GetEndPoints().Single());
        await redis.ScriptFlushAsync();
        state.Finish("k", null, 0, first.Reservation, [1m]);
        await Until(async () => (await state.StatusAsync(scope, default)) is { Spent: 1m, Reserved: 0m });
        await redis.ScriptFlushAsync();
        Assert.True((await state.AdmitAsync("k", null, null, [(scope, 9m)], default)).Admitted);
        Assert.False((await state.AdmitAsync("k", null, null, [(scope, 1m)], default)).Admitted); // 1 spent + 9 held: full
    }

    [SkippableFact]
    public async Task Rpm_by_gcra_admits_a_minutes_burst_then_the_steady_rate_with_no_second_burst_at_the_minute_edge()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = RedisFixture.Clock(second: 59); // a second before the clock minute turns
        var (a, ca) = RedisFixture.Instance(server, time);
        var (b, cb) = RedisFixture.Instance(server, time);
        using var _a = ca;
        using var _b = cb;

        // 60 RPM: an idle key may use its whole minute at once, across both instances.
        var burst = 0;
        for (var i = 0; i < 70; i++)
        {
            if ((await (i % 2 == 0 ? a : b).AdmitAsync("k-rpm", 60, null, [], default)).Admitted) burst++;
        }
        Assert.Equal(60, burst);
        var refused = await a.AdmitAsync("k-rpm", 60, null, [], default);
        Assert.Equal("rpm", refused.Limit);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter); // one request's worth of the steady rate
        Assert.Equal(0, refused.Limits!.Value.RemainingRequests);

        // Two seconds later the clock minute has turned: a fixed window would admit 60 more here; GCRA admits two.
        time.Advance(TimeSpan.FromSeconds(2));
        var afterEdge = 0;
        for (var i = 0; i < 70; i++)
        {
            if ((await b.AdmitAsync("k-rpm", 60, null, [], default)).Admitted) afterEdge++;
        }
        output.WriteLine($"60 RPM: {burst} admitted at 12:00:59, {afterEdge} more at 12:01:01 (a fixed clock-minute window: 60 more)");
        Assert.Equal(2, afterEdge);

        // A full minute idle: back to the initial state, the whole burst again.
        time.Advance(TimeSpan.FromSeconds(60));
        var ok = await a.AdmitAsync("k-rpm", 60, null, [], default);
        Assert.True(ok.Admitted);
        Assert.Equal(59, ok.Limits!.Value.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(1), ok.Limits!.Value.ResetRequests);
    }

    [SkippableFact]
    public async Task Tpm_counts_the_tokens_of_finished_requests_from_every_instance_and_refuses_until_they_have_drained()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = RedisFixture.Clock();
        var (a, ca) = RedisFixture.Instance(server, time);
        var (b, cb) = RedisFixture.Instance(server, time);
        using var _a = ca;
        using var _b = cb;

        Assert.True((await a.AdmitAsync("k-tpm", null, 6000, [], default)).Admitted);
        a.Finish("k-tpm", 6000, 4500, null, null);
        Assert.True((await b.AdmitAsync("k-tpm", null, 6000, [], default)).Admitted);
        b.Finish("k-tpm", 6000, 1500, null, null);
        await Until(async () => (await a.AdmitAsync("k-tpm", null, 6000, [], default)).Limit == "tpm");
        var refused = await b.AdmitAsync("k-tpm", null, 6000, [], default);
        Assert.Equal("tpm", refused.Limit);
        Assert.Equal(0, refused.Limits!.Value.RemainingTokens);
        Assert.Equal(TimeSpan.FromSeconds(60), refused.Limits!.Value.ResetTokens);
        Assert.Equal(TimeSpan.FromMilliseconds(10), refused.RetryAfter); // one token at 100 per second

        time.Advance(TimeSpan.FromSeconds(30)); // half the minute's tokens have drained
        var ok = await a.AdmitAsync("k-tpm", null, 6000, [], default);
        Assert.True(ok.Admitted);
        Assert.Equal(3000, ok.Limits!.Value.RemainingTokens);
        Assert.Equal(TimeSpan.FromSeconds(30), ok.Limits!.Value.ResetTokens);
    }

    [SkippableFact]
    public async Task With_redis_down_budgeted_keys_fail_closed_limits_fall_back_to_the_instance_and_fail_open_counts_the_spend_when_it_returns()
    {
        var server = await RedisFixture.ServerAsync();
        await using var _s = server;
        var time = RedisFixture.Clock();
        var (closed, cc) = RedisFixture.Instance(server, time);
        var (open, co) = RedisFixture.Instance(server, time, failOpen: true);
        using var _c = cc;
        using var _o = co;
        var scope = new BudgetScope("key", "k-down", Ten);
        var first = await open.AdmitAsync("k-down", null, null, [(scope, 1m)], default); // state loaded while Redis is up
        open.Finish("k-down", null, 0, first.Reservation, [1m]);
        await Until(async () => (await open.StatusAsync(scope, default)).Spent == 1m);

        await server.SaveAsync();
        await server.StopAsync();
        await Until(() => Task.FromResult(!cc.IsConnected && !co.IsConnected));

        var refused = await closed.AdmitAsync("k-down", null, null, [(scope, 1m)], default);
        Assert.False(refused.Admitted);
        Assert.Equal(GatewayErrorKind.Unavailable, refused.Error!.Kind);
        Assert.Equal("budget_store_unavailable", refused.Error.Code);
        // A key with only a rate limit is counted by the instance meanwhile.
        Assert.True((await closed.AdmitAsync("k-rate", 2, null, [], default)).Admitted);
        Assert.True((await closed.AdmitAsync("k-rate", 2, null, [], default)).Admitted);
        Assert.Equal("rpm", (await closed.AdmitAsync("k-rate", 2, null, [], default)).Limit);

        // Fail open: admitted without a shared hold; the spend is kept and added when Redis answers again.
        var admitted = await open.AdmitAsync("k-down", null, null, [(scope, 1m)], default);
        Assert.True(admitted.Admitted);
        open.Finish("k-down", null, 0, admitted.Reservation, [0.75m]);

        // Redis comes back with its data (saved before it stopped: an outage, not a loss): the spend admitted
        // meanwhile is added to the budget when the connection is restored.
        await server.RestartAsync();
        await RedisFixture.ReconnectedAsync(co);
        await Until(async () => (await open.StatusAsync(scope, default)).Spent == 1.75m);
        Assert.Equal(0m, (await open.StatusAsync(scope, default)).Reserved);
    }

    [SkippableFact]
    public async Task After_a_redis_restart_a_budget_is_rebuilt_from_the_ledger_before_anything_is_admitted()
    {
        await using var server = await RedisFixture.ServerAsync();
        var time = RedisFixture.Clock();
        var ledger = 0m; // what the ledger holds: the test writes it as the gateway's metering would
        var loads = 0;
        var (state, c) = RedisFixture.Instance(server, time, (_, _, _) => { Interlocked.Increment(ref loads); return Task.FromResult(ledger); });
        using var _c = c;
        var scope = new BudgetScope("key", "k-restart", Ten);

        var r1 = await state.AdmitAsync("k", null, null, [(scope, 4m)], default);
        state.Finish("k", null, 0, r1.Reservation, [4m]);
        ledger += 4m;
        var inFlight = await state.AdmitAsync("k", null, null, [(scope, 3m)], default); // still running at the restart
        Assert.True(inFlight.Admitted);
        Assert.Equal(1, loads);

        await server.RestartAsync(); // empty: every hold and spend in Redis is gone
        await RedisFixture.ReconnectedAsync(c);

        // The first admission loads the spend from the ledger (4), not from nothing: 7 fit, 7.5 does not.
        var tooMuch = await state.AdmitAsync("k", null, null, [(scope, 6.5m)], default);
        Assert.False(tooMuch.Admitted);
        Assert.Equal(6m, tooMuch.Budget!.Remaining);
        Assert.Equal(2, loads);
        // The request in flight at the restart settles into the rebuilt state (its row was not in the ledger yet).
        state.Finish("k", null, 0, inFlight.Reservation, [2.5m]);
        await Until(async () => (await state.StatusAsync(scope, default)).Spent == 6.5m);
        Assert.False((await state.AdmitAsync("k", null, null, [(scope, 3.6m)], default)).Admitted);
        Assert.True((await state.AdmitAsync("k", null, null, [(scope, 3.5m)], default)).Admitted);
    }

    [SkippableFact]
    public async Task A_ledger_that_cannot_be_read_keeps_a_budget_without_state_closed()
    {
        await using var server = await RedisFixture.ServerAsync();
        var (state, c) = RedisFixture.Instance(server, RedisFixture.Clock(), (_, _, _) => Task.FromException<decimal>(new IOException("database is down")));
        using var _c = c;
        var r = await state.AdmitAsync("k", null, null, [(new BudgetScope("key", "k-noledger", Ten), 1m)], default);
        Assert.False(r.Admitted);
        Assert.Equal("budget_store_unavailable", r.Error!.Code);
    }

    [SkippableFact]
    public async Task An_admission_is_one_round_trip_and_its_cost_is_measured()
    {
        await using var server = await RedisFixture.ServerAsync();
        var (state, c) = RedisFixture.Instance(server, TimeProvider.System);
        using var _c = c;
        var scope = new BudgetScope("key", "k-cost", new Budget(1_000_000m, "USD", BudgetPeriod.Monthly));
        for (var i = 0; i < 200; i++) // warm up: the budget's load, the script's first EVAL, the JIT
        {
            var w = await state.AdmitAsync("k-cost", 1_000_000, 1_000_000, [(scope, 0.01m)], default);
            state.Finish("k-cost", 1_000_000, 10, w.Reservation, [0.005m]);
        }
        var before = c.GetCounters().Interactive.OperationCount;
        const int N = 2000;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < N; i++)
        {
            var r = await state.AdmitAsync("k-cost", 1_000_000, 1_000_000, [(scope, 0.01m)], default);
            Assert.True(r.Admitted);
            state.Finish("k-cost", 1_000_000, 10, r.Reservation, [0.005m]);
        }
        watch.Stop();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        // Every settlement lands: all that was held is released and all that was spent counted.
        await Until(async () => await state.StatusAsync(scope, default) is { Reserved: 0m } s && s.Spent == (200 + N) * 0.005m);
        var operations = c.GetCounters().Interactive.OperationCount - before;
        output.WriteLine($"{N} admissions with a budget, RPM and TPM, each followed by its settlement: {watch.Elapsed.TotalMilliseconds * 1000 / N:0} µs " +
            $"per admission awaited (loopback, this machine), {operations / (double)N:0.00} Redis commands per request, ~{allocated / N} B allocated per request in this process");
        // One script per admission; settlements go in batches (whatever queued in the last millisecond), so at most one
        // more per request and fewer when requests overlap; nothing else goes to Redis per request (+ the status reads).
        Assert.InRange(operations, N + 1, 2 * N + 220);
    }

    [Fact]
    public async Task Settlements_queued_together_go_in_one_call_and_each_counts()
    {
        await using var server = await RedisFixture.ServerAsync();
        var (state, c) = RedisFixture.Instance(server, TimeProvider.System);
        using var _c = c;
        var a = new BudgetScope("key", "k-a", new Budget(100m, "USD", BudgetPeriod.Monthly));
        var b = new BudgetScope("team", "t-b", new Budget(100m, "USD", BudgetPeriod.Monthly));
        var holds = new List<BudgetReservation?>();
        for (var i = 0; i < 50; i++)
        {
            var r = await state.AdmitAsync("k-a", 1000, 1_000_000, [(a, 0.5m), (b, 0.5m)], default);
            Assert.True(r.Admitted);
            holds.Add(r.Reservation);
        }
        var before = c.GetCounters().Interactive.OperationCount;
        // Fifty requests ending at once: their settlements queue while the first batch waits its millisecond.
        for (var i = 0; i < holds.Count; i++) state.Finish("k-a", 1_000_000, 100, holds[i], [0.25m, 0.125m]);

        await Until(async () => await state.StatusAsync(a, default) is { Reserved: 0m, Spent: 12.5m } && await state.StatusAsync(b, default) is { Reserved: 0m, Spent: 6.25m });
        var operations = c.GetCounters().Interactive.OperationCount - before;
        Assert.InRange(operations, 1, 20); // a few batches and the status reads, not fifty settlements
    }

    [Theory]
    [InlineData("1000000000000")] // 10^12: within what the admin API takes, beyond what a nano count holds
    [InlineData("79228162514264337593543950335")] // decimal's maximum, as an old or hand-written store may hold
    public async Task A_budget_beyond_the_nano_range_admits_and_counts_like_any_other(string amount)
    {
        await using var server = await RedisFixture.ServerAsync();
        var (state, c) = RedisFixture.Instance(server, TimeProvider.System);
        using var _c = c;
        var huge = new BudgetScope("team", "t-huge", new Budget(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), "USD", BudgetPeriod.Monthly));
        var r = await state.AdmitAsync("k-huge", null, null, [(huge, 0.5m)], default);
        Assert.True(r.Admitted);
        state.Finish("k-huge", null, 0, r.Reservation, [0.25m]);
        await Until(async () => await state.StatusAsync(huge, default) is { Reserved: 0m, Spent: 0.25m });
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail("the condition did not hold within 10 s");
    }
}
