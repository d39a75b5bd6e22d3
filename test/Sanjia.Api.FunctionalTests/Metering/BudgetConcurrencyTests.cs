using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Metering;

public sealed class BudgetConcurrencyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_concurrent_requests_never_settle_more_than_the_budget()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        // Each answer: 10 output tokens; small delay so requests overlap in flight.
        upstream.SetDefault(FakeBehavior.Reply("one two three four five six seven eight nine ten", completionTokens: 10) with { HeaderDelay = TimeSpan.FromMilliseconds(20) });
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        const decimal budget = 1.5m;
        var (keyId, secret) = await gw.CreateKeyAsync(new { name = "load", budget = new { amount = budget, currency = "USD", period = "monthly" } });

        var tasks = Enumerable.Range(0, 200).Select(async i =>
        {
            var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", secret);
            m.Content = MeteringSetup.ChatBody($"Request number {i} for the shared budget", stream: i % 2 == 0, maxTokens: 20);
            using var r = await gw.Anonymous.SendAsync(m);
            var text = await r.Content.ReadAsStringAsync();
            return (r.StatusCode, text);
        }).ToList();
        var results = await Task.WhenAll(tasks);

        var admitted = results.Count(r => r.StatusCode == HttpStatusCode.OK);
        var refused = results.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(200, admitted + refused.Count);
        Assert.All(refused, r => Assert.Equal("budget_exceeded", JsonDocument.Parse(r.text).RootElement.GetProperty("error").GetProperty("code").GetString()));
        // Refused requests never reached the upstream.
        Assert.Equal(admitted, upstream.Requests.Count);

        var spend = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key");
        var settled = MeteringSetup.LedgerTotals(gw.DatabasePath, keyId).GetValueOrDefault("USD");
        var key = await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyId}");
        output.WriteLine($"admitted {admitted} of 200, refused {refused.Count}; settled total {settled} USD (tracker: {key.GetProperty("budget").GetProperty("spent").GetString()}), budget {budget} USD");
        Assert.InRange(admitted, 1, 199);
        Assert.True(settled <= budget, $"settled {settled} exceeds the budget {budget}");
        Assert.Equal(settled, decimal.Parse(key.GetProperty("budget").GetProperty("spent").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0m, decimal.Parse(key.GetProperty("budget").GetProperty("reserved").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        _ = spend;
    }

    [Fact]
    public async Task Rpm_limit_answers_429_with_retry_after_before_any_upstream_call()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        var (_, secret) = await gw.CreateKeyAsync(new { name = "slow", rpm_limit = 2 });
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", secret);
            m.Content = MeteringSetup.ChatBody();
            statuses.Add(await gw.Anonymous.SendAsync(m));
        }
        // Two fit in a minute; the third is refused unless the minute rolled over in between (then it is admitted).
        var limited = statuses.Where(s => s.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.True(limited.Count == 1 || upstream.Requests.Count == 3);
        foreach (var l in limited)
        {
            Assert.InRange(int.Parse(l.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
            var e = JsonDocument.Parse(await l.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_exceeded", e.GetProperty("code").GetString());
            Assert.Equal(2, upstream.Requests.Count);
        }
    }

    [Fact]
    public async Task A_key_may_only_call_its_allowed_models_and_unpriced_models_need_permission()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        var (_, limited) = await gw.CreateKeyAsync(new { allowed_models = new[] { "fake/other" } });
        var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", limited);
        m.Content = MeteringSetup.ChatBody();
        using var r = await gw.Anonymous.SendAsync(m);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Contains("model_not_allowed", await r.Content.ReadAsStringAsync());

        // fake/unpriced-model has no price: a budgeted key may not use it (default), the response says so.
        var (_, budgeted) = await gw.CreateKeyAsync(new { budget = new { amount = 10, currency = "USD" } });
        var u = gw.Request(HttpMethod.Post, "/v1/chat/completions", budgeted);
        u.Content = new StringContent("""{"model":"fake/unpriced-model","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json");
        using var ur = await gw.Anonymous.SendAsync(u);
        Assert.Equal(HttpStatusCode.Forbidden, ur.StatusCode);
        Assert.Contains("model_unpriced", await ur.Content.ReadAsStringAsync());

        // The master key may, and the answer says it is unpriced (never a zero cost).
        var mm = gw.Request(HttpMethod.Post, "/v1/chat/completions", GatewayServer.MasterKey);
        mm.Content = new StringContent("""{"model":"fake/unpriced-model","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json");
        using var mr = await gw.Anonymous.SendAsync(mm);
        Assert.Equal(HttpStatusCode.OK, mr.StatusCode);
        Assert.Equal("unpriced", mr.Headers.GetValues("x-sanjia-cost").Single());
        var report = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=model");
        var row = report.GetProperty("rows").EnumerateArray().Single(x => x.GetProperty("group").GetString() == "fake/unpriced-model");
        Assert.Equal("unpriced", row.GetProperty("cost").GetString());
        Assert.Equal(1, row.GetProperty("unpriced_requests").GetInt32());
    }
}
