using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace Sanjia.Console.Tests;

/// <summary>
/// The Cache savings, Guardrail decisions and Budget alerts pages, and the Deployments page for a read-only admin, in
/// the browser. Its own
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
    public async Task Guardrail_decisions_are_counted_per_rule_as_the_request_log_holds_them()
    {
        var page = await SignedInAsync(F.Reader.Secret); // read-only admins see them too
        for (var i = 0; i < 2; i++) Assert.Equal(200, await F.Gateway.ChatAsync(F.Bob.Secret, "guarded", $"mail me at user{i}@example.com"));
        Assert.Equal(400, await F.Gateway.ChatAsync(F.Bob.Secret, "guarded", "what is project falcon?"));

        var stats = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/stats/guardrails?days=7");
        var logged = (await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/requests?guardrail=any&limit=500")).GetProperty("data");
        Assert.Equal((3, 1), (stats.GetProperty("requests_with_decisions").GetInt32(), stats.GetProperty("blocked").GetInt32()));
        Assert.Equal(logged.GetArrayLength(), stats.GetProperty("requests_with_decisions").GetInt32());
        var rules = stats.GetProperty("rules").EnumerateArray().Select(r => (r.GetProperty("rule").GetString(), r.GetProperty("check").GetString(), r.GetProperty("action").GetString(), r.GetProperty("count").GetInt32())).ToList();
        Assert.Equal([("pii.email", "input", "redact", 2), ("deny.keyword", "input", "block", 1)], rules);

        var guard = await OpenAsync(page, "guardrails", "Guardrail decisions");
        await Assertions.Expect(guard.Locator(".figure").Filter(new() { HasText = "With a decision" })).ToContainTextAsync("3");
        await Assertions.Expect(guard.Locator(".figure").Filter(new() { HasText = "Blocked" })).ToContainTextAsync("1");
        await Assertions.Expect(Row(guard, "pii.email").First).ToContainTextAsync("redact");
        await Assertions.Expect(Row(guard, "pii.email").First.Locator("td").Nth(4)).ToHaveTextAsync("2");
        await Assertions.Expect(Row(guard, "input deny.keyword → block (console-pii)")).ToContainTextAsync("400");
        await Assertions.Expect(guard).Not.ToContainTextAsync("user0@example.com"); // decisions only, never the matched text
        await ShotAsync(page, "16-guardrails");
    }

    /// <summary>
    /// Issue 15's "done when": the failing vendor, the top spender and the fastest-growing model, each named on its page,
    /// with figures equal to /admin/spend's and /admin/stats' and to what the ledger rows (the request log) add up to.
    /// </summary>
    [SkippableFact]
    public async Task The_failing_vendor_the_top_spender_and_the_fastest_growing_model_are_named_with_the_ledgers_figures()
    {
        var page = await SignedInAsync(ConsoleGateway.MasterKey);
        var now = DateTimeOffset.UtcNow;
        async Task<List<JsonElement>> LedgerAsync(string query) =>
            [.. (await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/requests?limit=500&" + query)).GetProperty("data").EnumerateArray()];
        static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture));

        // The failing vendor: every row of provider bad is a vendor failure, so its availability is 0.
        var bad = await LedgerAsync("provider=bad");
        Assert.Equal(3, bad.Count);
        Assert.All(bad, r => Assert.True(r.GetProperty("status").GetInt32() >= 500));
        var sla = await OpenAsync(page, "sla", "SLA");
        await Assertions.Expect(sla.Locator("#least-available")).ToHaveTextAsync("Least available: bad (0.00 %)");

        // The top spender in USD: /admin/spend's figure, which is the sum of alice's USD rows in the ledger.
        var spend = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key");
        var top = spend.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("currency").ValueKind == JsonValueKind.String && r.GetProperty("currency").GetString() == "USD")
            .MaxBy(r => decimal.Parse(r.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(F.Alice.Id, top.GetProperty("group").GetString());
        var topCost = decimal.Parse(top.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture);
        var aliceRows = await LedgerAsync($"key_id={F.Alice.Id}");
        Assert.Equal(topCost, aliceRows.Where(r => r.GetProperty("currency").ValueKind == JsonValueKind.String && r.GetProperty("currency").GetString() == "USD")
            .Sum(r => decimal.Parse(r.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture)));
        var keys = await OpenAsync(page, "keys", "Keys");
        var shown = topCost != 0 && Math.Abs(topCost) < 0.01m ? topCost.ToString("#,##0.00####", CultureInfo.InvariantCulture) : topCost.ToString("#,##0.00", CultureInfo.InvariantCulture);
        await Assertions.Expect(keys.Locator("#top-spender")).ToContainTextAsync($"in USD: alice ({F.Alice.Id}) with USD {shown}");

        // The fastest-growing model: its share this week and last week from /admin/stats/usage, as the ledger's rows count them.
        var usage = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/stats/usage?by=model&period=week&periods=8");
        var chat = usage.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "chat");
        var thisWeek = (await LedgerAsync($"from={Iso(now.AddDays(-7).AddMinutes(1))}")).Where(r => r.GetProperty("status").GetInt32() != 0).ToList();
        var lastWeek = (await LedgerAsync($"from={Iso(now.AddDays(-14))}&to={Iso(now.AddDays(-7).AddMinutes(-1))}")).Where(r => r.GetProperty("status").GetInt32() != 0).ToList();
        double Share(List<JsonElement> rows) => (double)rows.Count(r => r.GetProperty("model").GetString() == "chat") / rows.Count;
        Assert.Equal(Share(thisWeek), chat.GetProperty("share").GetDouble(), 9);
        Assert.Equal(Share(lastWeek), chat.GetProperty("previous_share").GetDouble(), 9);
        var points = chat.GetProperty("change_points").GetDouble();
        Assert.Equal(Math.Round((Share(thisWeek) - Share(lastWeek)) * 100, 2), points, 9);
        var trends = await OpenAsync(page, "usage?by=model&period=week", "Usage trends");
        await Assertions.Expect(trends.Locator("#fastest-growing")).ToHaveTextAsync($"Fastest growing: chat (+{points.ToString(CultureInfo.InvariantCulture)} points)");
        await Assertions.Expect(Row(trends, "chat").First.Locator("td").Nth(3)).ToHaveTextAsync($"{(Share(thisWeek) * 100).ToString("0.0", CultureInfo.InvariantCulture)} %");
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
