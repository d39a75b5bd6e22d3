using Sanjia.Abstractions;
using Sanjia.Core.Alerts;

namespace Sanjia.Storage.Tests;

/// <summary>
/// What every alert store must do: a crossing is claimed once, also by two stores on one database at the same time
/// (two instances); every field back as written; deliveries recorded; newest first, per key or team, limited.
/// </summary>
public abstract class AlertStoreConformanceTests : IAsyncLifetime
{
    private readonly List<IAlertStore> _stores = [];

    /// <summary>A store on the test's database; each call a new instance on the same one.</summary>
    protected abstract Task<IAlertStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        foreach (var s in _stores) (s as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    private async Task<IAlertStore> StoreAsync()
    {
        var s = await OpenAsync();
        _stores.Add(s);
        return s;
    }

    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 12, 6, 9, 30, 15, 123, TimeSpan.Zero).AddTicks(4560);

    private static BudgetAlert Alert(int i) => new()
    {
        Id = BudgetAlerts.AlertId(i % 2 == 0 ? "key" : "team", $"id_{i % 3}", 80 + i, T0),
        FiredAt = T0.AddMinutes(i),
        Scope = i % 2 == 0 ? "key" : "team",
        ScopeId = $"id_{i % 3}",
        Percent = 80 + i,
        Used = 8.123456789m + i,
        Limit = 10m,
        Currency = i == 1 ? "CNY" : "USD",
        Period = i == 2 ? BudgetPeriod.Total : BudgetPeriod.Monthly,
        PeriodStart = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero),
        ResetsAt = i == 2 ? null : new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Reason = i == 3 ? "refused" : "spent",
        Delivery = i == 4 ? "none" : "pending",
    };

    [SkippableFact]
    public async Task A_crossing_is_claimed_once_and_reads_back_with_its_delivery()
    {
        var store = await StoreAsync();
        for (var i = 0; i < 5; i++) Assert.True(await store.TryClaimAsync(Alert(i), CancellationToken.None));
        Assert.False(await store.TryClaimAsync(Alert(2) with { FiredAt = T0.AddDays(1), Used = 99m }, CancellationToken.None));

        await store.RecordDeliveryAsync(Alert(0).Id, "delivered", 3, null, CancellationToken.None);
        await store.RecordDeliveryAsync(Alert(1).Id, "failed", 5, "HTTP 503 from hooks.example.com", CancellationToken.None);

        var all = await store.ListAsync(null, 100, CancellationToken.None);
        var expected = Enumerable.Range(0, 5).Reverse().Select(i => i switch
        {
            0 => Alert(0) with { Delivery = "delivered", Attempts = 3 },
            1 => Alert(1) with { Delivery = "failed", Attempts = 5, LastError = "HTTP 503 from hooks.example.com" },
            _ => Alert(i),
        });
        Assert.Equal(expected, all);
        Assert.Equal([3, 0], (await store.ListAsync("id_0", 100, CancellationToken.None)).Select(a => a.Percent - 80));
        Assert.Equal([4, 3], (await store.ListAsync(null, 2, CancellationToken.None)).Select(a => a.Percent - 80));

        // Of one check (the same time), the highest threshold first, whatever order they were claimed in.
        var later = T0.AddHours(1);
        foreach (var p in new[] { 50, 100, 80 }) await store.TryClaimAsync(Alert(0) with { Id = $"alert_tie_{p}", FiredAt = later, Percent = p, ScopeId = "tie" }, CancellationToken.None);
        Assert.Equal([100, 80, 50], (await store.ListAsync("tie", 10, CancellationToken.None)).Select(a => a.Percent));
    }

    [SkippableFact]
    public async Task A_threshold_of_a_budget_raised_in_its_period_is_claimed_again_once_per_amount()
    {
        var store = await StoreAsync();
        var start = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        BudgetAlert At(decimal limit) => Alert(0) with { Id = BudgetAlerts.AlertId("key", "raised", 80, start, limit), ScopeId = "raised", Limit = limit, FiredAt = T0.AddSeconds((double)limit) };

        Assert.True(await store.TryClaimAsync(At(10m), CancellationToken.None));
        Assert.True(await store.TryClaimAsync(At(20m), CancellationToken.None)); // raised: the same threshold again
        Assert.False(await store.TryClaimAsync(At(20m), CancellationToken.None));
        Assert.False(await store.TryClaimAsync(At(10.0m), CancellationToken.None)); // back to the first amount: already sent
        Assert.Equal([20m, 10m], (await store.ListAsync("raised", 10, CancellationToken.None)).Select(a => a.Limit));
    }

    [SkippableFact]
    public async Task Of_two_instances_claiming_the_same_crossings_at_once_each_crossing_goes_to_one()
    {
        var a = await StoreAsync();
        var b = await StoreAsync();
        var alerts = Enumerable.Range(0, 20).Select(i => Alert(0) with { Id = $"alert_{i:D2}" }).ToList();
        var won = await Task.WhenAll(alerts.SelectMany(x => new[] { Task.Run(() => a.TryClaimAsync(x, CancellationToken.None)), Task.Run(() => b.TryClaimAsync(x, CancellationToken.None)) }));
        Assert.Equal(20, won.Count(w => w));
        Assert.Equal(20, (await a.ListAsync(null, 100, CancellationToken.None)).Count);
    }
}

public sealed class SqliteAlertStoreConformanceTests : AlertStoreConformanceTests
{
    private readonly SqliteFolder _folder = new();

    protected override Task<IAlertStore> OpenAsync() => Task.FromResult<IAlertStore>(new Sqlite.SqliteAlertStore(_folder.File("sanjia.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

public sealed class PostgresAlertStoreConformanceTests(PostgresDatabaseFixture db) : AlertStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<IAlertStore> OpenAsync() => new Postgres.PostgresAlertStore(await _backend.DatabaseAsync());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
