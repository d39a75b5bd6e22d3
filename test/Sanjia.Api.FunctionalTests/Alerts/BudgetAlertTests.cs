using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Storage.Sqlite;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Webhooks;

namespace Sanjia.Api.FunctionalTests.Alerts;

/// <summary>
/// Budget alerts as an operator sees them: real traffic through a priced fake vendor spends a key's budget, and a
/// webhook receiver on a real socket gets one signed POST per threshold crossed, once, also across a restart;
/// <c>/admin/alerts</c> and <c>/metrics</c> say the same.
/// </summary>
public sealed class BudgetAlertTests : IAsyncLifetime
{
    private const string MetricsToken = "metrics-token-alerts-0123456789";
    private readonly string _alias = "alerts" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    private FakeOpenAiServer _vendor = null!;
    private FakeWebhookReceiver _hook = null!;

    public async Task InitializeAsync()
    {
        _vendor = await FakeOpenAiServer.StartAsync();
        // 1000 input tokens at 2 and 500 output tokens at 8 per million: 0.006 USD per request.
        _vendor.SetDefault(FakeBehavior.Reply("ok", promptTokens: 1000, completionTokens: 500));
        _hook = await FakeWebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _hook.DisposeAsync();
        await _vendor.DisposeAsync();
    }

    private string[] Args(params string[] extra) =>
    [
        .. GatewayServer.Provider("v", _vendor.BaseUrl, _vendor.ApiKey),
        .. GatewayServer.Deployment(_alias, 0, "v", "gpt-4o-mini", "InputPricePerMillion=2", "OutputPricePerMillion=8"),
        "--Sanjia:Alerts:IntervalSeconds=0.1",
        "--Sanjia:Alerts:RetryBaseSeconds=0.05",
        $"--Sanjia:Alerts:Webhooks:0:Url={_hook.Url}?token=receiver-secret",
        $"--Sanjia:Alerts:Webhooks:0:Secret={_secret}",
        $"--Sanjia:Metrics:Token={MetricsToken}",
        .. extra,
    ];

    private async Task<HttpStatusCode> ChatAsync(GatewayServer gw, string key)
    {
        using var request = GatewayServer.Chat(_alias, stream: false, maxTokens: 500);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await gw.Anonymous.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Checks the Standard Webhooks signature as a receiver's library does, with code of its own.</summary>
    private void AssertSigned(WebhookDelivery d)
    {
        var key = Convert.FromBase64String(_secret["whsec_".Length..]);
        var signed = Encoding.UTF8.GetBytes($"{d.Headers["webhook-id"]}.{d.Headers["webhook-timestamp"]}.").Concat(d.Body).ToArray();
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
        Assert.Equal(expected, d.Headers["webhook-signature"]);
        var sent = DateTimeOffset.FromUnixTimeSeconds(long.Parse(d.Headers["webhook-timestamp"], CultureInfo.InvariantCulture));
        Assert.InRange(sent, d.At.AddMinutes(-5), d.At.AddMinutes(5)); // what receivers accept against replays
        Assert.Equal("application/json", d.Headers["content-type"]);
    }

    private static JsonElement Data(WebhookDelivery d)
    {
        var root = JsonDocument.Parse(d.Body).RootElement;
        Assert.Equal("budget.threshold_crossed", root.GetProperty("type").GetString());
        return root.GetProperty("data").Clone();
    }

    [Fact]
    public async Task Each_threshold_sends_one_signed_webhook_once_and_a_refusal_counts_as_the_100_percent_crossing()
    {
        var dataDir = GatewayServer.NewDataDir();
        var gw = await GatewayServer.StartInAsync(dataDir, Args());
        try
        {
            var (keyId, key) = await gw.CreateKeyAsync(new { name = "app", budget = new { amount = "0.02", currency = "USD", period = "daily", alert_at = new[] { 25, 50, 100 } } });

            Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.006: 30 %
            var first = Assert.Single(await _hook.WaitForAsync(1));
            AssertSigned(first);
            var data = Data(first);
            Assert.Equal((keyId, "key", "app", 25, "0.006", "0.02", "USD", "daily", "spent"),
                (data.GetProperty("id").GetString(), data.GetProperty("scope").GetString(), data.GetProperty("name").GetString(),
                 data.GetProperty("percent").GetInt32(), data.GetProperty("used").GetString(), data.GetProperty("limit").GetString(),
                 data.GetProperty("currency").GetString(), data.GetProperty("period").GetString(), data.GetProperty("reason").GetString()));
            Assert.Equal(first.Headers["webhook-id"], data.GetProperty("alert_id").GetString());

            Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.012: 60 %
            Assert.Equal(50, Data((await _hook.WaitForAsync(2))[1]).GetProperty("percent").GetInt32());
            Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.018: 90 %, no threshold
            // The next hold (0.004 for 500 output tokens) does not fit in what is left: refused, and that is the 100 % alert.
            Assert.Equal(HttpStatusCode.TooManyRequests, await ChatAsync(gw, key));
            var third = (await _hook.WaitForAsync(3))[2];
            AssertSigned(third);
            Assert.Equal((100, "refused", "0.018"), (Data(third).GetProperty("percent").GetInt32(), Data(third).GetProperty("reason").GetString(), Data(third).GetProperty("used").GetString()));

            // Twenty more checks (0.1 s apart) and another refusal: nothing is sent twice.
            Assert.Equal(HttpStatusCode.TooManyRequests, await ChatAsync(gw, key));
            await Task.Delay(2000);
            Assert.Equal(3, _hook.Deliveries.Count);
            Assert.Equal(3, _hook.Deliveries.Select(d => d.Headers["webhook-id"]).Distinct().Count());

            var listed = (await gw.AdminAsync(HttpMethod.Get, $"/admin/alerts?id={keyId}")).GetProperty("data").EnumerateArray().ToList();
            Assert.Equal([100, 50, 25], listed.Select(a => a.GetProperty("percent").GetInt32()));
            Assert.All(listed, a => Assert.Equal(("delivered", 1), (a.GetProperty("delivery").GetString(), a.GetProperty("attempts").GetInt32())));
            Assert.Equal(_hook.Deliveries.Select(d => d.Headers["webhook-id"]).Reverse(), listed.Select(a => a.GetProperty("id").GetString()));

            var metrics = await ScrapeAsync(gw);
            // The highest threshold crossed this period, labelled as the budget gauges are.
            Assert.Matches($"sanjia_budget_alert_level\\{{[^}}]*sanjia_budget_id=\"{keyId}\",sanjia_budget_period=\"daily\",sanjia_budget_scope=\"key\",sanjia_currency=\"USD\"\\}} 100(\\s|$)", metrics);

            // A restart remembers what was sent: the 25 and 50 % crossings are still crossed, and not sent again.
            await gw.StopAsync(); // keeps the data folder
            gw = await GatewayServer.StartInAsync(dataDir, Args());
            var reloaded = await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyId}");
            Assert.Equal("0.018", reloaded.GetProperty("budget").GetProperty("spent").GetString()); // the same spend, from the ledger
            Assert.Equal([25, 50, 100], reloaded.GetProperty("budget").GetProperty("alert_at").EnumerateArray().Select(p => p.GetInt32()));
            await Task.Delay(1500);
            Assert.Equal(3, _hook.Deliveries.Count);
            Assert.Equal(3, (await gw.AdminAsync(HttpMethod.Get, "/admin/alerts")).GetProperty("data").GetArrayLength());
        }
        finally
        {
            await gw.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_under_the_same_id_and_a_refusing_one_is_recorded_as_failed()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Args("--Sanjia:Alerts:BudgetPercents:0=10", "--Sanjia:Alerts:MaxAttempts=3"));
        var team = (await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "research", budget = new { amount = "0.05", currency = "USD", period = "monthly" } }, 201))
            .GetProperty("id").GetString()!;
        var (_, key) = await gw.CreateKeyAsync(new { name = "app", team_id = team });

        _hook.Enqueue(503, 500); // the third attempt is taken
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.006 of 0.05: 12 %, over the configured default of 10 %
        var attempts = await _hook.WaitForAsync(3);
        Assert.Equal([503, 500, 200], attempts.Select(a => a.AnsweredStatus));
        Assert.Single(attempts.Select(a => a.Headers["webhook-id"]).Distinct());
        Assert.All(attempts, AssertSigned); // each attempt signed afresh, with its own timestamp
        Assert.Equal(("team", team, 10), (Data(attempts[0]).GetProperty("scope").GetString(), Data(attempts[0]).GetProperty("id").GetString(), Data(attempts[0]).GetProperty("percent").GetInt32()));
        var alert = await WaitForDeliveryAsync(gw, team);
        Assert.Equal(("delivered", 3), (alert.GetProperty("delivery").GetString(), alert.GetProperty("attempts").GetInt32()));

        // A receiver that refuses (4xx other than 408/429) is not retried; the error names the host, never the URL's token.
        foreach (var bad in new object[] { new[] { 0 }, new[] { 101 }, "80", new[] { 50.5 } })
        {
            var refused = await gw.AdminAsync(HttpMethod.Patch, $"/admin/teams/{team}", new { budget = new { amount = "0.05", currency = "USD", alert_at = bad } }, 400);
            Assert.Equal("budget.alert_at", refused.GetProperty("error").GetProperty("param").GetString());
        }
        _hook.Enqueue(400);
        await gw.AdminAsync(HttpMethod.Patch, $"/admin/teams/{team}", new { budget = new { amount = "0.05", currency = "USD", period = "monthly", alert_at = new[] { 20 } } });
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.012: 24 %
        await _hook.WaitForAsync(4);
        var failed = await WaitForDeliveryAsync(gw, team);
        Assert.Equal(("failed", 1, 20), (failed.GetProperty("delivery").GetString(), failed.GetProperty("attempts").GetInt32(), failed.GetProperty("percent").GetInt32()));
        var error = failed.GetProperty("last_error").GetString()!;
        Assert.StartsWith("HTTP 400 from 127.0.0.1:", error, StringComparison.Ordinal);
        Assert.DoesNotContain("receiver-secret", error, StringComparison.Ordinal);
        await Task.Delay(500);
        Assert.Equal(4, _hook.Deliveries.Count);
        Assert.Matches("sanjia_budget_alerts_total\\{[^}]*sanjia_budget_alert_delivery=\"failed\"[^}]*sanjia_budget_alert_percent=\"20\"", await ScrapeAsync(gw));
    }

    [Fact]
    public async Task A_budget_raised_after_its_alert_fired_sends_it_again_when_spend_reaches_it_on_the_new_amount()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Args());
        var (keyId, key) = await gw.CreateKeyAsync(new { name = "app", budget = new { amount = "0.02", currency = "USD", period = "daily", alert_at = new[] { 50 } } });
        Task SetAmountAsync(string amount) =>
            gw.AdminAsync(HttpMethod.Patch, $"/admin/keys/{keyId}", new { budget = new { amount, currency = "USD", period = "daily", alert_at = new[] { 50 } } });

        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.006: 30 %
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.012: 60 %
        Assert.Equal(("0.012", "0.02"), Limits((await _hook.WaitForAsync(1))[0]));

        // Raised to 0.04: 0.012 is 30 % of it, so the 50 % threshold is armed again and nothing is sent yet.
        await SetAmountAsync("0.04");
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.018: 45 %
        await Task.Delay(500); // five checks
        Assert.Single(_hook.Deliveries);
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.024: 60 % of the new amount
        Assert.Equal(("0.024", "0.04"), Limits((await _hook.WaitForAsync(2))[1]));

        // Lowered to 0.03: 0.024 is already 80 % of it, so the threshold fires at once, for that amount.
        await SetAmountAsync("0.03");
        Assert.Equal(("0.024", "0.03"), Limits((await _hook.WaitForAsync(3))[2]));
        await Task.Delay(500);
        Assert.Equal(3, _hook.Deliveries.Count);
        var listed = (await gw.AdminAsync(HttpMethod.Get, $"/admin/alerts?id={keyId}")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["0.03", "0.04", "0.02"], listed.Select(a => a.GetProperty("limit").GetString()));
        Assert.Equal(3, _hook.Deliveries.Select(d => d.Headers["webhook-id"]).Distinct().Count());

        static (string?, string?) Limits(WebhookDelivery d)
        {
            var data = Data(d);
            Assert.Equal(50, data.GetProperty("percent").GetInt32());
            return (data.GetProperty("used").GetString(), data.GetProperty("limit").GetString());
        }
    }

    [Fact]
    public async Task A_stored_budget_near_the_decimal_maximum_does_not_stop_the_other_budgets_alerts()
    {
        // Stored before the admin API capped amounts (or written to the store directly): 80 % of it is not a decimal.
        var dataDir = GatewayServer.NewDataDir();
        using (var stored = new SqliteKeyStore(Path.Combine(dataDir, "sanjia.db")))
        {
            await stored.UpsertTeamAsync(new Team { Id = "team_huge", Name = "huge", Budget = new Budget(decimal.MaxValue, "USD", BudgetPeriod.Monthly), CreatedAt = DateTimeOffset.UtcNow },
                CancellationToken.None);
        }
        await using var gw = await GatewayServer.StartInAsync(dataDir, Args());
        var team = (await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "research", budget = new { amount = "0.01", currency = "USD", period = "daily", alert_at = new[] { 50 } } }, 201))
            .GetProperty("id").GetString()!;
        var (_, key) = await gw.CreateKeyAsync(new { name = "app", team_id = team });

        Assert.Equal(HttpStatusCode.OK, await ChatAsync(gw, key)); // 0.006 of 0.01: 60 %
        var data = Data(Assert.Single(await _hook.WaitForAsync(1)));
        Assert.Equal(("team", team, 50), (data.GetProperty("scope").GetString(), data.GetProperty("id").GetString(), data.GetProperty("percent").GetInt32()));
        Assert.Equal(0, (await gw.AdminAsync(HttpMethod.Get, "/admin/alerts?id=team_huge")).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task The_alert_list_refuses_a_cursor_rather_than_answering_its_first_page_again()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync([]);
        var refused = await gw.AdminAsync(HttpMethod.Get, "/admin/alerts?cursor=5", expect: 400);
        Assert.Equal("cursor", refused.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(0, (await gw.AdminAsync(HttpMethod.Get, "/admin/alerts?limit=500")).GetProperty("data").GetArrayLength());
    }

    /// <summary>The newest alert of a key or team once its delivery has ended.</summary>
    private static async Task<JsonElement> WaitForDeliveryAsync(GatewayServer gw, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var newest = (await gw.AdminAsync(HttpMethod.Get, $"/admin/alerts?id={id}&limit=1")).GetProperty("data").EnumerateArray().FirstOrDefault();
            if (newest.ValueKind == JsonValueKind.Object && newest.GetProperty("delivery").GetString() != "pending" || DateTime.UtcNow > deadline) return newest;
            await Task.Delay(50);
        }
    }

    private static async Task<string> ScrapeAsync(GatewayServer gw)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        using var response = await gw.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
