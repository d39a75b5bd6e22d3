using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace Sanjia.Console.Tests;

/// <summary>
/// The Cache savings and Budget alerts pages, and the Deployments page for a read-only admin, in the browser. Its own
/// class (and so its own gateway): it sends traffic on top of the fixture's (answers from the response cache, a budget
/// spent), which the figures of <see cref="ConsolePageTests"/> must not see.
/// </summary>
public sealed class ConsoleSavingsTests(ConsoleFixture f) : ConsoleTests(f), IClassFixture<ConsoleFixture>
{
    [SkippableFact]
    public async Task Cache_savings_and_budget_alerts_show_what_the_ledger_and_the_alert_store_hold()
    {
        var page = await SignedInAsync(ConsoleGateway.MasterKey);
        // Alice asks the cached alias the same thing three times: one answer from the vendor, two from the cache.
        for (var i = 0; i < 3; i++) Assert.Equal(200, await F.Gateway.ChatAsync(F.Alice.Secret, "cached", "the same question"));

        var report = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=model");
        var row = report.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("group").GetString() == "cached");
        Assert.Equal((3, 2), (row.GetProperty("requests").GetInt32(), row.GetProperty("cache_hits").GetInt32()));
        var saved = decimal.Parse(row.GetProperty("cost_saved").GetString()!, CultureInfo.InvariantCulture);
        var cost = decimal.Parse(row.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture);
        Assert.Equal(2 * cost, saved); // two hits, each saving what the one vendor answer cost

        var cache = await OpenAsync(page, "cache", "Cache savings");
        await Assertions.Expect(Row(cache, "cached")).ToContainTextAsync("66.7 %");
        await Assertions.Expect(Row(cache, "cached").Locator("td").Nth(2)).ToHaveTextAsync("2");
        await Assertions.Expect(cache.Locator("#cache-saved")).ToContainTextAsync("USD " + saved.ToString("0.######", CultureInfo.InvariantCulture));
        await ShotAsync(page, "14-cache");
        // The request log marks the two hits.
        var requests = await OpenAsync(page, "requests?model=cached", "Request log");
        await Assertions.Expect(requests.Locator("tbody tr")).ToHaveCountAsync(3);
        await Assertions.Expect(requests.Locator("tbody tr").Filter(new() { HasText = "hit" })).ToHaveCountAsync(2);

        // Carol's daily budget set to what she has spent, with alerts at 50 and 100 %: the 100 % alert fires (50 % with it, superseded).
        var carol = await F.Gateway.AdminAsync(HttpMethod.Get, $"/admin/keys/{F.Carol.Id}");
        var spent = carol.GetProperty("budget").GetProperty("spent").GetString()!;
        Assert.True(decimal.Parse(spent, CultureInfo.InvariantCulture) > 0, spent);
        await F.Gateway.AdminAsync(HttpMethod.Patch, $"/admin/keys/{F.Carol.Id}", new { budget = new { amount = spent, currency = "USD", period = "daily", alert_at = new[] { 50, 100 } } });
        JsonElement alert = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            var list = (await F.Gateway.AdminAsync(HttpMethod.Get, $"/admin/alerts?id={F.Carol.Id}")).GetProperty("data");
            if (list.GetArrayLength() == 2) { alert = list[0]; break; }
        }
        Assert.Equal((100, "none"), (alert.GetProperty("percent").GetInt32(), alert.GetProperty("delivery").GetString())); // no webhook configured
        var alerts = await OpenAsync(page, "alerts", "Budget alerts");
        await Assertions.Expect(Row(alerts, "100 %")).ToContainTextAsync($"key carol ({F.Carol.Id})");
        await Assertions.Expect(Row(alerts, "100 %")).ToContainTextAsync("daily");
        await Assertions.Expect(Row(alerts, "50 %")).ToContainTextAsync("superseded");
        await ShotAsync(page, "15-alerts");
    }

    [SkippableFact]
    public async Task A_read_only_admin_sees_live_deployment_health()
    {
        var page = await SignedInAsync(F.Reader.Secret);
        var deployments = await OpenAsync(page, "deployments", "Deployments");
        // The live state comes from /admin/deployments, which a read-only admin may read: no error line, the breakers shown.
        await Assertions.Expect(deployments.Locator("p.error")).ToHaveCountAsync(0);
        await Assertions.Expect(Row(deployments, "good/gpt-4o-mini")).ToContainTextAsync("closed (healthy)");
        await Assertions.Expect(Row(deployments, "bad/gpt-4o-mini")).ToContainTextAsync("100.0 %");
    }
}
