using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Alerts;
using Sanjia.Core.Budgets;
using Sanjia.Core.Keys;

namespace Sanjia.Core.Tests.Alerts;

/// <summary>The budget alert check on a fake clock: when thresholds fire, that each fires once per period, and the signature format.</summary>
public sealed class BudgetAlertsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);

    private sealed class World
    {
        public readonly FakeTimeProvider Time = new(T0);
        public readonly VirtualKeyCache Keys = new();
        public readonly InMemoryBudgetTracker Tracker;
        public readonly InMemoryAlertStore Store = new();
        public readonly AlertOptions Options = new();

        public World() => Tracker = new InMemoryBudgetTracker((_, _, _) => Task.FromResult(0m), Time);

        public BudgetAlerts NewChecker(IAlertStore? store = null) =>
            new(Keys, Tracker, store ?? Store, Options, new WebhookSender(Options, Time), Time, NullLogger<BudgetAlerts>.Instance, 100);

        public void AddKey(string id, Budget budget) => Keys.Put(new VirtualKey
        {
            Id = id, Name = id, SecretHash = id + "-hash", Prefix = "sk-sj-" + id, Budget = budget, CreatedAt = T0,
        });

        public async Task SpendAsync(string id, Budget budget, decimal amount)
        {
            var scope = new BudgetScope("key", id, budget);
            var r = await Tracker.TryReserveAsync([(scope, amount)], default);
            Tracker.Settle(r.Reservation!, [amount]);
        }
    }

    [Fact]
    public async Task A_budget_raised_in_its_period_is_watched_afresh_on_the_new_amount()
    {
        var w = new World();
        var budget = new Budget(10m, "USD", BudgetPeriod.Monthly) { AlertAt = [50] };
        w.AddKey("k1", budget);
        var alerts = w.NewChecker();
        await w.SpendAsync("k1", budget, 6m);
        Assert.Equal([(50, 10m)], (await alerts.CheckAsync(default)).Select(a => (a.Percent, a.Limit)));

        // Raised to 20: 6 is 30 % of it, so nothing yet; at 10 of 20 the 50 % threshold fires again, for the new amount.
        var raised = budget with { Amount = 20m };
        w.AddKey("k1", raised);
        Assert.Empty(await alerts.CheckAsync(default));
        await w.SpendAsync("k1", raised, 4m);
        var again = Assert.Single(await alerts.CheckAsync(default));
        Assert.Equal((50, 10m, 20m), (again.Percent, again.Used, again.Limit));
        Assert.Empty(await alerts.CheckAsync(default)); // and once only
    }

    [Fact]
    public async Task Each_threshold_fires_once_per_period_and_again_in_the_next()
    {
        var w = new World();
        var budget = new Budget(10m, "USD", BudgetPeriod.Daily) { AlertAt = [50, 90] };
        w.AddKey("k1", budget);
        var alerts = w.NewChecker();

        await w.SpendAsync("k1", budget, 4.99m);
        Assert.Empty(await alerts.CheckAsync(default)); // 49.9 %: below both
        await w.SpendAsync("k1", budget, 0.01m);
        var fired = Assert.Single(await alerts.CheckAsync(default)); // exactly 50 % counts as reached
        Assert.Equal(("key", "k1", 50, 5m, 10m, "spent", "none"), (fired.Scope, fired.ScopeId, fired.Percent, fired.Used, fired.Limit, fired.Reason, fired.Delivery));
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), fired.PeriodStart);
        Assert.Empty(await alerts.CheckAsync(default)); // checked again: not again
        await w.SpendAsync("k1", budget, 4m);
        Assert.Equal([90], (await alerts.CheckAsync(default)).Select(a => a.Percent));

        // A new day: the daily budget starts over, and so do its alerts, under new ids.
        var dayOne = (await w.Store.ListAsync("k1", 100, default)).Select(a => a.Id).ToList();
        w.Time.Advance(TimeSpan.FromDays(1));
        Assert.Empty(await alerts.CheckAsync(default));
        await w.SpendAsync("k1", budget, 9.5m);
        var nextDay = await alerts.CheckAsync(default);
        Assert.Equal([(50, "superseded"), (90, "none")], nextDay.Select(a => (a.Percent, a.Delivery)));
        Assert.Empty(nextDay.Select(a => a.Id).Intersect(dayOne));
        Assert.Equal(4, (await w.Store.ListAsync("k1", 100, default)).Count);
    }

    [Fact]
    public async Task A_crossing_is_sent_by_one_of_several_instances_and_not_again_after_a_restart()
    {
        var w = new World();
        var budget = new Budget(1m, "USD", BudgetPeriod.Monthly);
        w.AddKey("k1", budget);
        await w.SpendAsync("k1", budget, 0.85m);

        // Three instances on one store (as on one PostgreSQL) check at the same time.
        var instances = Enumerable.Range(0, 3).Select(_ => w.NewChecker()).ToList();
        var fired = await Task.WhenAll(instances.Select(i => i.CheckAsync(default)));
        Assert.Equal([80], fired.SelectMany(f => f).Select(a => a.Percent)); // the default thresholds: 80 and 100
        // A restarted instance (nothing in memory) finds the crossing in the store.
        Assert.Empty(await w.NewChecker().CheckAsync(default));
    }

    [Fact]
    public async Task A_refusal_for_a_budget_counts_as_100_percent_even_when_spend_is_just_under()
    {
        var w = new World();
        var budget = new Budget(1m, "USD", BudgetPeriod.Total);
        w.AddKey("k1", budget);
        var alerts = w.NewChecker();
        await w.SpendAsync("k1", budget, 0.97m);
        Assert.Equal([80], (await alerts.CheckAsync(default)).Select(a => a.Percent));

        alerts.Refused(new BudgetScope("key", "k1", budget));
        var full = Assert.Single(await alerts.CheckAsync(default));
        Assert.Equal((100, "refused", 0.97m), (full.Percent, full.Reason, full.Used));
        Assert.Empty(await alerts.CheckAsync(default));
    }

    [Fact]
    public async Task Budgets_with_no_thresholds_or_no_amount_never_fire()
    {
        var w = new World();
        var none = new Budget(1m, "USD", BudgetPeriod.Total) { AlertAt = [] };
        w.AddKey("quiet", none);
        w.AddKey("zero", new Budget(0m, "USD", BudgetPeriod.Total));
        await w.SpendAsync("quiet", none, 1m);
        var alerts = w.NewChecker();
        alerts.Refused(new BudgetScope("key", "zero", new Budget(0m, "USD", BudgetPeriod.Total)));
        Assert.Empty(await alerts.CheckAsync(default));
    }

    [Fact]
    public void The_signature_reproduces_the_standard_webhooks_test_vector()
    {
        // The published vector of Standard Webhooks' reference libraries: what a receiver's library will check.
        var key = WebhookSigner.KeyOf("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!;
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            WebhookSigner.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, """{"test": 2432232314}"""u8));
        Assert.Null(WebhookSigner.KeyOf("whsec_not base64!"));
        Assert.Equal("plain"u8.ToArray(), WebhookSigner.KeyOf("plain"));
    }

    [Fact]
    public void The_payload_has_the_standard_webhooks_envelope_and_money_as_strings()
    {
        var alert = new BudgetAlert
        {
            Id = BudgetAlerts.AlertId("team", "team_1", 80, T0), FiredAt = T0, Scope = "team", ScopeId = "team_1", Percent = 80,
            Used = 8.1m, Limit = 10m, Currency = "CNY", Period = BudgetPeriod.Monthly, PeriodStart = T0, ResetsAt = T0.AddMonths(1),
        };
        using var json = JsonDocument.Parse(BudgetAlerts.Payload(alert, "research", null));
        var root = json.RootElement;
        Assert.Equal("budget.threshold_crossed", root.GetProperty("type").GetString());
        Assert.Equal("2026-12-06T09:00:00Z", root.GetProperty("timestamp").GetString());
        var data = root.GetProperty("data");
        Assert.Equal((alert.Id, "team", "team_1", "research", 80, "8.1", "10", "CNY", "monthly", "spent"),
            (data.GetProperty("alert_id").GetString(), data.GetProperty("scope").GetString(), data.GetProperty("id").GetString(), data.GetProperty("name").GetString(),
             data.GetProperty("percent").GetInt32(), data.GetProperty("used").GetString(), data.GetProperty("limit").GetString(),
             data.GetProperty("currency").GetString(), data.GetProperty("period").GetString(), data.GetProperty("reason").GetString()));
        Assert.StartsWith("alert_", alert.Id, StringComparison.Ordinal);
        Assert.NotEqual(alert.Id, BudgetAlerts.AlertId("team", "team_1", 80, T0.AddMonths(1)));
    }
}
