using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Budgets;

namespace Sanjia.Core.Tests.Budgets;

public sealed class BudgetTrackerTests
{
    [Fact]
    public async Task Reservations_are_all_or_nothing_across_key_and_team_and_settle_to_actual()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 23, 0, 0, TimeSpan.Zero));
        var tracker = new InMemoryBudgetTracker((_, _, _) => Task.FromResult(0m), time);
        var key = new BudgetScope("key", "k1", new Budget(10m, "USD", BudgetPeriod.Daily));
        var team = new BudgetScope("team", "t1", new Budget(3m, "USD", BudgetPeriod.Monthly));

        var first = await tracker.TryReserveAsync([(key, 2m), (team, 2m)], default);
        Assert.NotNull(first.Reservation);
        var second = await tracker.TryReserveAsync([(key, 2m), (team, 2m)], default);
        Assert.Null(second.Reservation);
        Assert.Equal("team", second.Exhausted!.Kind);
        Assert.Equal(2m, (await tracker.StatusAsync(key, default)).Reserved); // the key was not charged for the refused one

        tracker.Settle(first.Reservation!, [0.5m, 0.5m]);
        tracker.Settle(first.Reservation!, [0.5m, 0.5m]); // settling twice has no effect
        var key1 = await tracker.StatusAsync(key, default);
        Assert.Equal((0.5m, 0m), (key1.Spent, key1.Reserved));
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 0, 0, 0, TimeSpan.Zero), key1.ResetsAt);

        // A new day: the daily key budget starts again; the monthly team budget does not.
        time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0m, (await tracker.StatusAsync(key, default)).Spent);
        Assert.Equal(0.5m, (await tracker.StatusAsync(team, default)).Spent);
    }

    [Fact]
    public async Task Concurrent_reservations_never_exceed_the_budget()
    {
        var tracker = new InMemoryBudgetTracker((_, _, _) => Task.FromResult(0.25m), TimeProvider.System);
        var scope = new BudgetScope("key", "k", new Budget(1m, "USD", BudgetPeriod.Total));
        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => Task.Run(async () => await tracker.TryReserveAsync([(scope, 0.01m)], default))));
        Assert.Equal(75, results.Count(r => r.Reservation is not null)); // (1 − 0.25 already spent) / 0.01
        foreach (var r in results.Where(r => r.Reservation is not null)) tracker.Release(r.Reservation!);
        Assert.Equal((0.25m, 0m, (DateTimeOffset?)null), await tracker.StatusAsync(scope, default));
    }

    [Fact]
    public void Rate_limit_windows_reset_on_the_minute()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 15, TimeSpan.Zero));
        var limiter = new InMemoryRateLimiter(time);
        Assert.True(limiter.TryAcquire("k", 2, null).Allowed);
        Assert.True(limiter.TryAcquire("k", 2, null).Allowed);
        var refused = limiter.TryAcquire("k", 2, null);
        Assert.False(refused.Allowed);
        Assert.Equal(TimeSpan.FromSeconds(45), refused.RetryAfter);
        time.Advance(TimeSpan.FromSeconds(45));
        Assert.True(limiter.TryAcquire("k", 2, null).Allowed);
        limiter.AddTokens("k", 500);
        Assert.Equal("tpm", limiter.TryAcquire("k", null, 500).Limit);
    }
}
