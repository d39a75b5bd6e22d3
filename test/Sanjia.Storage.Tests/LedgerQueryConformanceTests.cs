using Sanjia.Abstractions;

namespace Sanjia.Storage.Tests;

/// <summary>
/// The request log's reads (<see cref="ILedgerQuery"/>), the same for every ledger store: each filter alone and
/// together, newest first, and pages by cursor that neither skip nor repeat a row while new rows arrive.
/// </summary>
public abstract class LedgerQueryConformanceTests : IAsyncLifetime
{
    private ILedgerStore? _ledger;

    protected abstract Task<ILedgerStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => _ledger is IDisposable d ? Task.Run(d.Dispose) : Task.CompletedTask;

    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    private static LedgerEntry Row(int i, string? key, string? team, string model, string provider, int status) => new()
    {
        RequestId = $"req-{i:D3}",
        Timestamp = T0.AddMinutes(i),
        KeyId = key,
        TeamId = team,
        Endpoint = "/v1/chat/completions",
        Model = model,
        Provider = provider,
        Deployment = $"{provider}/{model}-upstream",
        Usage = new TokenUsage(10, 5),
        Status = status,
        ErrorCode = status >= 400 ? "upstream_error" : null,
        LatencyMs = 100 + i,
        Cost = status == 200 ? 0.001m * i : null,
        Currency = status == 200 ? "USD" : null,
    };

    /// <summary>20 rows: keys k0..k3 (k3 with no team), models fast/smart, providers a/b, every fifth a 502, every seventh a 429.</summary>
    private async Task<ILedgerQuery> SeededAsync()
    {
        _ledger = await OpenAsync();
        var rows = Enumerable.Range(0, 20).Select(i => Row(i, $"k{i % 4}", i % 4 == 3 ? null : $"t{i % 2}", i % 3 == 0 ? "smart" : "fast",
            i % 2 == 0 ? "a" : "b", i % 5 == 4 ? 502 : i % 7 == 6 ? 429 : 200)).ToList();
        await _ledger.AppendAsync(rows[..10], CancellationToken.None);
        await _ledger.AppendAsync(rows[10..], CancellationToken.None);
        return Assert.IsAssignableFrom<ILedgerQuery>(_ledger);
    }

    private static IEnumerable<int> Ids(IReadOnlyList<LedgerRow> rows) => rows.Select(r => int.Parse(r.Entry.RequestId[4..], System.Globalization.CultureInfo.InvariantCulture));

    [SkippableFact]
    public async Task Rows_come_newest_first_and_pages_follow_the_cursor_without_gaps_or_repeats()
    {
        var query = await SeededAsync();
        var first = await query.QueryAsync(new LedgerFilter { Limit = 7 }, CancellationToken.None);
        Assert.Equal([19, 18, 17, 16, 15, 14, 13], Ids(first));
        Assert.Equal(Row(19, "k3", null, "fast", "b", 502), first[0].Entry);

        // A row written between two pages goes to the top, not into the next page.
        await _ledger!.AppendAsync([Row(99, "k0", "t0", "fast", "a", 200)], CancellationToken.None);
        var seen = new List<int>(Ids(first));
        var cursor = first[^1].Id;
        while (true)
        {
            var page = await query.QueryAsync(new LedgerFilter { Limit = 7, Before = cursor }, CancellationToken.None);
            if (page.Count == 0) break;
            seen.AddRange(Ids(page));
            cursor = page[^1].Id;
        }
        Assert.Equal(Enumerable.Range(0, 20).Reverse(), seen);
        Assert.Equal([99, 19], Ids(await query.QueryAsync(new LedgerFilter { Limit = 2 }, CancellationToken.None)));
    }

    [SkippableFact]
    public async Task Each_filter_narrows_the_rows_and_filters_combine()
    {
        var query = await SeededAsync();
        async Task<int[]> Q(LedgerFilter f) => [.. Ids(await query.QueryAsync(f with { Limit = 100 }, CancellationToken.None)).Order()];

        Assert.Equal(new[] { 1, 5, 9, 13, 17 }, await Q(new() { KeyId = "k1" }));
        Assert.Equal(new[] { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18 }, await Q(new() { TeamId = "t0" }));
        Assert.Equal(new[] { 0, 3, 6, 9, 12, 15, 18 }, await Q(new() { Model = "smart" }));
        Assert.Equal(new[] { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 }, await Q(new() { Provider = "b" }));
        Assert.Equal(new[] { 0, 6, 12, 18 }, await Q(new() { Deployment = "a/smart-upstream" }));
        Assert.Equal(new[] { 4, 9, 14, 19 }, await Q(new() { StatusFrom = 502, StatusTo = 502 }));
        Assert.Equal(new[] { 4, 6, 9, 13, 14, 19 }, await Q(new() { StatusFrom = 400, StatusTo = 599 }));
        Assert.Equal(new[] { 5, 6, 7 }, await Q(new() { From = T0.AddMinutes(5), To = T0.AddMinutes(8) }));
        Assert.Equal(new[] { 4, 14 }, await Q(new() { Model = "fast", StatusFrom = 500, StatusTo = 599, Provider = "a" }));
        Assert.Empty(await Q(new() { KeyId = "k3", TeamId = "t0" }));
        Assert.Empty(await Q(new() { KeyId = "nobody" }));
    }
}

public sealed class SqliteLedgerQueryConformanceTests : LedgerQueryConformanceTests
{
    private readonly SqliteFolder _folder = new();

    protected override Task<ILedgerStore> OpenAsync() => Task.FromResult<ILedgerStore>(new Sqlite.SqliteLedgerStore(_folder.File("sanjia.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

public sealed class PostgresLedgerQueryConformanceTests(PostgresDatabaseFixture db) : LedgerQueryConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresBackend _backend = new(db);

    protected override async Task<ILedgerStore> OpenAsync() => new Postgres.PostgresLedgerStore(await _backend.DatabaseAsync());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
