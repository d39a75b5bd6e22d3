using Sanjia.Abstractions;

namespace Sanjia.Console.Tests;

/// <summary>
/// One gateway, one browser and one set of traffic for the console tests of a class. The traffic, sent through the
/// gateway: alice (team research) 6 × <c>chat</c> (USD) and 2 × <c>qwen</c> (CNY); bob 2 × <c>chat</c>, 3 × <c>broken</c>
/// (the failing vendor <c>bad</c>) and 1 × <c>free</c> (unpriced); carol (a daily USD budget) 1 × <c>chat</c>: 15 requests.
/// Backdated 8 days (last week): 30 rows of <c>legacy</c> and 10 of <c>chat</c>, so <c>chat</c> rises from 25 % to 60 % of
/// requests and is the fastest growing.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public Browser Browser { get; } = new();
    public ConsoleGateway Gateway { get; private set; } = null!;
    public string TeamId { get; private set; } = "";
    public (string Id, string Secret) Alice { get; private set; }
    public (string Id, string Secret) Bob { get; private set; }
    public (string Id, string Secret) Carol { get; private set; }
    public (string Id, string Secret) Reader { get; private set; }
    public const int Requests = 15;

    public async Task InitializeAsync()
    {
        await Browser.InitializeAsync();
        if (Browser.Instance is null) return; // the tests skip (or fail under SANJIA_REQUIRE_CHROMIUM) in NewPageAsync
        Gateway = await ConsoleGateway.StartAsync();
        TeamId = (await Gateway.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "research" })).GetProperty("id").GetString()!;
        await Gateway.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "ops", budget = new { amount = "100", currency = "USD", period = "monthly" } });
        Alice = await Gateway.CreateKeyAsync(new { name = "alice", team_id = TeamId });
        Bob = await Gateway.CreateKeyAsync(new { name = "bob" });
        // A budget in USD: carol's one call is charged against it (a USD budget cannot take CNY or unpriced calls).
        Carol = await Gateway.CreateKeyAsync(new { name = "carol", budget = new { amount = "1", currency = "USD", period = "daily" } });
        Reader = await Gateway.CreateKeyAsync(new { name = "auditor", scopes = new[] { "admin:read" } });
        for (var i = 0; i < 6; i++) Assert.True(await Gateway.ChatAsync(Alice.Secret, "chat", $"alice {i}") == 200, Gateway.LastBody);
        for (var i = 0; i < 2; i++) Assert.Equal(200, await Gateway.ChatAsync(Alice.Secret, "qwen", $"alice cn {i}"));
        for (var i = 0; i < 2; i++) Assert.Equal(200, await Gateway.ChatAsync(Bob.Secret, "chat", $"bob {i}"));
        for (var i = 0; i < 3; i++) Assert.Equal(502, await Gateway.ChatAsync(Bob.Secret, "broken", $"bob broken {i}"));
        Assert.Equal(200, await Gateway.ChatAsync(Bob.Secret, "free", "bob free"));
        Assert.Equal(200, await Gateway.ChatAsync(Carol.Secret, "chat", "carol"));
        var lastWeek = DateTimeOffset.UtcNow.AddDays(-8);
        await Gateway.BackdateAsync([.. Enumerable.Range(0, 40).Select(i => new LedgerEntry
        {
            RequestId = $"backdated-{i}",
            Timestamp = lastWeek.AddMinutes(i),
            Endpoint = "/v1/chat/completions",
            Model = i < 30 ? "legacy" : "chat",
            Provider = "good",
            Deployment = "good/gpt-4o-mini",
            Status = 200,
            LatencyMs = 100,
        })]);
    }

    public async Task DisposeAsync()
    {
        if (Gateway is not null) await Gateway.DisposeAsync();
        await Browser.DisposeAsync();
    }
}
