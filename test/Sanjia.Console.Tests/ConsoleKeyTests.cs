using Microsoft.Playwright;

namespace Sanjia.Console.Tests;

/// <summary>
/// Keys managed in the browser change what the model routes accept: a key created on the Keys page answers on
/// <c>/v1</c>, and once revoked there it is refused. Its own class (and so its own gateway): it sends traffic, which
/// would change the figures <see cref="ConsolePageTests"/> checks.
/// </summary>
public sealed class ConsoleKeyTests(ConsoleFixture f) : ConsoleTests(f), IClassFixture<ConsoleFixture>
{
    [SkippableFact]
    public async Task A_key_created_in_the_console_works_on_v1_until_it_is_revoked_there()
    {
        var page = await SignedInAsync(ConsoleGateway.MasterKey);
        var keys = await OpenAsync(page, "keys", "Keys");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("from-the-console");
        await page.GetByLabel("Team").SelectOptionAsync(F.TeamId);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = (await page.Locator("#new-key-secret").TextContentAsync())!.Trim();
        Assert.StartsWith("sk-", secret);
        await Assertions.Expect(Row(keys, "from-the-console")).ToContainTextAsync("active");
        Assert.Equal(200, await F.Gateway.ChatAsync(secret, "chat", "from the console"));
        await ShotAsync(page, "12-key-created");

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke from-the-console" }).ClickAsync();
        await Assertions.Expect(Row(keys, "from-the-console")).ToContainTextAsync("revoked");
        Assert.Equal(401, await F.Gateway.ChatAsync(secret, "chat", "after revocation"));

        // The change is in the audit log as made through the console.
        var log = await F.Gateway.AdminAsync(HttpMethod.Get, "/admin/audit?path=/admin/keys&limit=2");
        Assert.All(log.GetProperty("data").EnumerateArray(), e => Assert.Equal(("master", "console"), (e.GetProperty("actor").GetString(), e.GetProperty("via").GetString())));
    }
}
