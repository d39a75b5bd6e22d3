using System.Text.Json;
using Microsoft.Playwright;

namespace Sanjia.Console.Tests;

/// <summary>
/// The web console in a real browser (Chromium by Playwright) against the real gateway: sign-in, every page's figures
/// from the traffic the fixture sent, a key created and revoked in the page changing what <c>/v1</c> accepts, keyboard
/// navigation and labels. Screenshots of each page go to <c>.ci/out/console/</c>.
/// </summary>
public sealed class ConsolePageTests(ConsoleFixture f) : ConsoleTests(f), IClassFixture<ConsoleFixture>
{
    [SkippableFact]
    public async Task Signing_in_sets_a_strict_http_only_cookie_and_every_page_shows_figures_from_the_traffic()
    {
        var page = await F.Browser.NewPageAsync();
        await page.GotoAsync(F.Gateway.BaseUrl + "/ui");
        await ShotAsync(page, "00-sign-in");
        await page.GetByLabel("Key").FillAsync("sk-sj-not-a-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Incorrect");
        page = await SignedInAsync(ConsoleGateway.MasterKey);
        var cookies = await page.Context.CookiesAsync();
        var cookie = cookies.SingleOrDefault(c => c.Name == "sanjia_console");
        Assert.True(cookie is not null, $"cookies: {string.Join(", ", cookies.Select(c => c.Name))}; url {page.Url}");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => String(document.cookie.match(/sanjia_console/) ?? undefined)"));

        // Overview: the 15 requests of the last 24 hours (the backdated rows are 8 days old), 3 of them vendor failures.
        var overview = await OpenAsync(page, "overview", "Overview");
        var stats = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/stats/overview?hours=24");
        Assert.Equal(ConsoleFixture.Requests, stats.GetProperty("total").GetProperty("requests").GetInt32());
        await Assertions.Expect(overview.Locator(".figure").Filter(new() { HasText = "Requests" }).First).ToContainTextAsync(ConsoleFixture.Requests.ToString());
        var spend = overview.Locator(".figure").Filter(new() { HasText = "Spend" });
        await Assertions.Expect(spend).ToContainTextAsync("USD");
        await Assertions.Expect(spend).ToContainTextAsync("CNY");
        await Assertions.Expect(spend).ToContainTextAsync("1 unpriced");
        Assert.True(await overview.Locator("svg.chart").CountAsync() >= 6, "one chart per figure over time");
        await ShotAsync(page, "01-overview");

        // Usage: chat grew from 25 % of last week's requests to 57 % of this week's: the fastest growing model.
        var usage = await OpenAsync(page, "usage?by=model&period=week", "Usage trends");
        await Assertions.Expect(usage.Locator("#fastest-growing")).ToContainTextAsync("chat");
        await Assertions.Expect(Row(usage, "legacy")).ToContainTextAsync("falling");
        await Assertions.Expect(Row(usage, "chat").Locator("td").Nth(1)).ToHaveTextAsync("9");
        await ShotAsync(page, "02-usage");

        // Request log: a page of 50 of the 55 rows, newest first; from an hour ago on, the 15 requests; the 5xx filter leaves
        // bob's three calls to the failing vendor.
        var requests = await OpenAsync(page, "requests", "Request log");
        await Assertions.Expect(requests.Locator("tbody tr")).ToHaveCountAsync(50);
        await Assertions.Expect(requests.GetByRole(AriaRole.Link, new() { Name = "Older requests →" })).ToBeVisibleAsync();
        await page.GetByLabel("From (UTC)").FillAsync(DateTime.UtcNow.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Assertions.Expect(requests.Locator("tbody tr")).ToHaveCountAsync(ConsoleFixture.Requests);
        await page.GetByLabel("Status").SelectOptionAsync("5xx");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Assertions.Expect(requests.Locator("tbody tr")).ToHaveCountAsync(3);
        foreach (var row in await requests.Locator("tbody tr").AllAsync())
        {
            await Assertions.Expect(row).ToContainTextAsync("broken");
            await Assertions.Expect(row).ToContainTextAsync(F.Bob.Id);
        }
        await ShotAsync(page, "03-requests");

        var deployments = await OpenAsync(page, "deployments", "Deployments");
        await Assertions.Expect(Row(deployments, "bad/gpt-4o-mini")).ToContainTextAsync("100.0 %");
        await Assertions.Expect(Row(deployments, "good/gpt-4o-mini")).ToContainTextAsync("closed");
        await ShotAsync(page, "04-deployments");

        // SLA: the failing vendor is named, and its availability agrees with the ledger (0 of 3 answered).
        var sla = await OpenAsync(page, "sla", "SLA");
        await Assertions.Expect(sla.Locator("#least-available")).ToContainTextAsync("bad");
        await Assertions.Expect(Row(sla, "bad").First).ToContainTextAsync("0.00 %");
        await Assertions.Expect(Row(sla, "good").First).ToContainTextAsync("100.00 %");
        await ShotAsync(page, "05-sla");

        // Keys: alice spent the most (as /admin/spend says); carol's budget bar is drawn.
        var keys = await OpenAsync(page, "keys", "Keys");
        var report = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key");
        var topUsd = report.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("currency").ValueKind == JsonValueKind.String && r.GetProperty("currency").GetString() == "USD")
            .MaxBy(r => decimal.Parse(r.GetProperty("cost").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(F.Alice.Id, topUsd.GetProperty("group").GetString());
        await Assertions.Expect(keys.Locator("#top-spender")).ToContainTextAsync(F.Alice.Id);
        await Assertions.Expect(Row(keys, F.Carol.Id).Locator("[role=meter]")).ToHaveCountAsync(1);
        await ShotAsync(page, "06-keys");

        var teams = await OpenAsync(page, "teams", "Teams");
        await Assertions.Expect(Row(teams, "ops")).ToContainTextAsync("of USD 100.00 monthly");
        await Assertions.Expect(Row(teams, "research")).ToContainTextAsync("no budget");
        await ShotAsync(page, "07-teams");

        var audit = await OpenAsync(page, "audit", "Audit log");
        await Assertions.Expect(Row(audit, F.Alice.Id)).ToContainTextAsync("POST /admin/keys");
        await ShotAsync(page, "08-audit");

        foreach (var (hash, title, file) in new[] { ("compare", "Compare runs", "09-compare"), ("shadow", "Shadow", "10-shadow"), ("prompts", "Prompts", "11-prompts") })
        {
            await OpenAsync(page, hash, title);
            await ShotAsync(page, file);
        }
    }

    [SkippableFact]
    public async Task Keyboard_alone_signs_in_and_reaches_the_pages_and_every_control_has_a_label()
    {
        var page = await F.Browser.NewPageAsync();
        await page.GotoAsync(F.Gateway.BaseUrl + "/ui");
        await Assertions.Expect(page.GetByLabel("Key")).ToBeFocusedAsync(); // the sign-in form takes the focus
        await page.Keyboard.TypeAsync(ConsoleGateway.MasterKey);
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Pages" })).ToBeVisibleAsync();

        // Tab from the top: the skip link first, then the page links in order; Enter opens one.
        await Assertions.Expect(page.Locator("#page")).Not.ToContainTextAsync("Loading…");
        await page.EvaluateAsync("() => document.activeElement?.blur()");
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("Skip to content", await page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        var order = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            order.Add(await page.EvaluateAsync<string>("() => document.activeElement.textContent"));
        }
        Assert.Equal(["Overview", "Usage", "Requests"], order);
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Request log", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#nav a[aria-current=page]")).ToHaveTextAsync("Requests");

        // On every page, every form control has an accessible label.
        foreach (var hash in new[] { "overview", "usage", "requests", "deployments", "sla", "keys", "teams", "audit", "compare", "shadow", "prompts" })
        {
            await page.GotoAsync($"{F.Gateway.BaseUrl}/ui#/{hash}");
            await Assertions.Expect(page.Locator("#page")).Not.ToContainTextAsync("Loading…");
            var unlabelled = await page.EvaluateAsync<string[]>("""
                () => [...document.querySelectorAll('#page input, #page select, #page textarea, #page button')]
                  .filter(e => !(e.labels?.length) && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                  .map(e => e.outerHTML)
                """);
            Assert.True(unlabelled.Length == 0, $"{hash}: {string.Join(", ", unlabelled)}");
        }
        await ShotAsync(page, "13-keyboard");
    }

    [SkippableFact]
    public async Task A_read_only_admin_key_reads_every_page_but_is_offered_no_changes_and_a_model_key_cannot_sign_in()
    {
        var page = await SignedInAsync(F.Reader.Secret);
        await Assertions.Expect(page.Locator("#who")).ToContainTextAsync("read only");
        var keys = await OpenAsync(page, "keys", "Keys");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Create key" })).ToHaveCountAsync(0);
        await Assertions.Expect(Row(keys, F.Alice.Id)).ToBeVisibleAsync();
        // Even a hand-made write through the session is refused by the admin API.
        var status = await page.EvaluateAsync<int>("""
            async () => (await fetch('/admin/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' })).status
            """);
        Assert.Equal(403, status);

        var model = await F.Browser.NewPageAsync();
        await model.GotoAsync(F.Gateway.BaseUrl + "/ui");
        await model.GetByLabel("Key").FillAsync(F.Bob.Secret);
        await model.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(model.GetByRole(AriaRole.Alert)).ToContainTextAsync("no admin scope");
    }
}
