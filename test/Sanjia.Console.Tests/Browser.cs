using Microsoft.Playwright;

namespace Sanjia.Console.Tests;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, installed by <c>.ci/run</c>), driven headless by Playwright; no browser
/// is downloaded. Missing, the browser tests skip with the reason, unless <c>SANJIA_REQUIRE_CHROMIUM=1</c> (CI) makes
/// them fail. One browser per test class (a class fixture): starting Chromium costs about a second.
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static string? Unavailable => File.Exists(ChromiumPath) ? null : $"{ChromiumPath} not found (apt-get install chromium; .ci/run does)";

    public static bool Required => Environment.GetEnvironmentVariable("SANJIA_REQUIRE_CHROMIUM") == "1";

    private IPlaywright? _playwright;

    public IBrowser? Instance { get; private set; }

    /// <summary>Where screenshots go: <c>.ci/out/console/</c> at the repository root.</summary>
    public static string ScreenshotDir
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sanjia.slnx"))) dir = dir.Parent;
            return Directory.CreateDirectory(Path.Combine(dir?.FullName ?? Path.GetTempPath(), ".ci", "out", "console")).FullName;
        }
    }

    public async Task InitializeAsync()
    {
        if (Unavailable is not null) return;
        _playwright = await Playwright.CreateAsync();
        Instance = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // As root (CI runs as root) Chromium refuses its sandbox.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh context (its own cookies) and page; skips or fails when Chromium is missing.</summary>
    public async Task<IPage> NewPageAsync()
    {
        if (Unavailable is { } reason)
        {
            Assert.False(Required, $"SANJIA_REQUIRE_CHROMIUM=1, so Chromium is required: {reason}");
            Skip.If(true, reason);
        }
        var context = await Instance!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (Instance is not null) await Instance.DisposeAsync();
        _playwright?.Dispose();
    }
}
