using Microsoft.Playwright;

namespace Sanjia.Console.Tests;

/// <summary>What the console tests share: signing in, opening a page and checking it loaded without an error, screenshots.</summary>
public abstract class ConsoleTests(ConsoleFixture f)
{
    protected ConsoleFixture F => f;

    protected async Task<IPage> SignedInAsync(string key)
    {
        var page = await f.Browser.NewPageAsync();
        await page.GotoAsync(f.Gateway.BaseUrl + "/ui");
        await page.GetByLabel("Key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Pages" })).ToBeVisibleAsync();
        return page;
    }

    protected async Task<ILocator> OpenAsync(IPage page, string hash, string heading)
    {
        await page.GotoAsync($"{f.Gateway.BaseUrl}/ui#/{hash}");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = heading, Level = 1 })).ToBeVisibleAsync();
        var main = page.Locator("#page");
        await Assertions.Expect(main).Not.ToContainTextAsync("Loading…");
        var errors = page.Locator("#page p.error[role=alert]:not(:empty)");
        Assert.True(await errors.CountAsync() == 0, $"#/{hash}: {string.Join(" | ", await errors.AllTextContentsAsync())}");
        return main;
    }

    protected static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ScreenshotDir, name + ".png"), FullPage = true });

    protected static ILocator Row(ILocator main, string text) => main.Locator("tbody tr").Filter(new() { HasText = text });
}
