using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// Failed attempts that consumed upstream tokens get their own ledger row under the request id, are charged to the
/// key's budget and counted once in spend reports; attempts that consumed nothing leave no row. Alias <c>chat</c> =
/// vendor a (<c>a/m1</c>) then vendor b (<c>b/m2</c>), both priced.
/// </summary>
public sealed class AttemptLedgerTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;
    private GatewayServer _gw = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync();
        _b = await FakeOpenAiServer.StartAsync();
        _gw = await GatewayServer.StartAsync(
        [
            new("Providers:a:BaseUrl", _a.BaseUrl), new("Providers:a:ApiKey", _a.ApiKey),
            new("Providers:b:BaseUrl", _b.BaseUrl), new("Providers:b:ApiKey", _b.ApiKey),
            new("Models:chat:Deployments:0:Provider", "a"), new("Models:chat:Deployments:0:Model", "m1"),
            new("Models:chat:Deployments:1:Provider", "b"), new("Models:chat:Deployments:1:Model", "m2"),
            .. Price("a/m1", 1000, 2000), .. Price("b/m2", 3000, 4000),
            new("Routing:Timeouts:FirstTokenSeconds", "5"),
        ]);
    }

    private static IEnumerable<KeyValuePair<string, string>> Price(string deployment, decimal input, decimal output) =>
    [
        new($"Metering:Prices:{deployment}:Currency", "USD"),
        new($"Metering:Prices:{deployment}:Input", input.ToString(CultureInfo.InvariantCulture)),
        new($"Metering:Prices:{deployment}:Output", output.ToString(CultureInfo.InvariantCulture)),
        new($"Metering:Prices:{deployment}:MaxOutputTokens", "64"),
    ];

    public async Task DisposeAsync()
    {
        await _gw.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private async Task<(string Id, string Secret)> BudgetedKeyAsync()
    {
        using var response = await _gw.Http.PostAsJsonAsync("/admin/keys", new { name = "attempts", budget = new { amount = "100", currency = "USD", period = "monthly" } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var k = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    private async Task<HttpResponseMessage> ChatAsync(string secret, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "chat", stream, max_tokens = 20, messages = new[] { new { role = "user", content = "Tell me about metering every attempt" } } }),
        };
        request.Headers.Authorization = new("Bearer", secret);
        return await _gw.Anonymous.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static decimal Money(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetDecimal() : decimal.Parse(e.GetString()!, CultureInfo.InvariantCulture);

    private async Task<(decimal Cost, int Requests)> ReportForKeyAsync(string keyId)
    {
        var report = JsonDocument.Parse(await _gw.Http.GetStringAsync("/admin/spend?group_by=key")).RootElement;
        var row = report.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("group").GetString() == keyId);
        return (Money(row.GetProperty("cost")), row.GetProperty("requests").GetInt32());
    }

    private async Task<decimal> BudgetSpentAsync(string keyId)
    {
        var key = JsonDocument.Parse(await _gw.Http.GetStringAsync($"/admin/keys/{keyId}")).RootElement;
        return Money(key.GetProperty("budget").GetProperty("spent"));
    }

    [Fact]
    public async Task A_stream_that_failed_after_the_upstream_started_producing_is_its_own_row_and_is_charged()
    {
        // Vendor a opens the stream and sends a malformed event first: nothing reached the client, routing fails over.
        _a.Enqueue(FakeBehavior.MalformedAfterChunks(0));
        var (keyId, secret) = await BudgetedKeyAsync();

        using (var response = await ChatAsync(secret, stream: true))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = await Sse.ReadDataAsync(response);
            Assert.Equal("[DONE]", events[^1]);
            Assert.Equal("2", response.Headers.GetValues("x-sanjia-attempts").Single());
        }

        var rows = (await _gw.LedgerAsync(2)).Where(r => r.KeyId == keyId).OrderBy(r => r.Attempt).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Single(rows.Select(r => r.RequestId).Distinct());
        var (failed, final) = (rows[0], rows[1]);
        Assert.Equal((1, "a/m1"), (failed.Attempt, failed.Deployment));
        Assert.NotEqual(200, failed.Status);
        Assert.Equal("upstream_malformed_chunk", failed.ErrorCode);
        Assert.True(failed.Usage.Input > 0, "the failed attempt's prompt tokens are metered");
        Assert.True(failed.Usage.Estimated, "counted by the gateway, so marked estimated");
        Assert.True(failed.Cost > 0m);
        Assert.Equal((2, "b/m2", 200), (final.Attempt, final.Deployment, final.Status));

        var ledgerTotal = rows.Sum(r => r.Cost!.Value);
        var (reported, requests) = await ReportForKeyAsync(keyId);
        Assert.Equal(ledgerTotal, reported);
        Assert.Equal(1, requests);
        Assert.Equal(ledgerTotal, await BudgetSpentAsync(keyId));
    }

    [Fact]
    public async Task A_non_streaming_error_that_reports_usage_is_its_own_row_and_is_charged()
    {
        _a.Enqueue(new FakeBehavior
        {
            StatusCode = 500,
            ErrorBody = """{"error":{"message":"generation failed","type":"server_error"},"usage":{"prompt_tokens":321,"completion_tokens":17,"total_tokens":338}}""",
        });
        var (keyId, secret) = await BudgetedKeyAsync();

        using (var response = await ChatAsync(secret, stream: false))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var rows = (await _gw.LedgerAsync(2)).Where(r => r.KeyId == keyId).OrderBy(r => r.Attempt).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal((1, "a/m1", 502), (rows[0].Attempt, rows[0].Deployment, rows[0].Status)); // an upstream failure is a 502
        Assert.Equal(new TokenUsage(321, 17), rows[0].Usage);
        Assert.Equal((321m * 1000 + 17m * 2000) / 1_000_000m, rows[0].Cost);
        Assert.Equal((2, "b/m2", 200), (rows[1].Attempt, rows[1].Deployment, rows[1].Status));

        var ledgerTotal = rows.Sum(r => r.Cost!.Value);
        Assert.Equal((ledgerTotal, 1), await ReportForKeyAsync(keyId));
        Assert.Equal(ledgerTotal, await BudgetSpentAsync(keyId));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_attempt_that_consumed_nothing_writes_no_row(bool stream)
    {
        _a.Enqueue(FakeBehavior.Status(503, "vendor a is down"));
        var (keyId, secret) = await BudgetedKeyAsync();

        using (var response = await ChatAsync(secret, stream))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (stream) await Sse.ReadDataAsync(response);
        }

        var rows = (await _gw.LedgerAsync(1)).Where(r => r.KeyId == keyId).ToList();
        var only = Assert.Single(rows);
        Assert.Equal((2, "b/m2", 200), (only.Attempt, only.Deployment, only.Status));
        Assert.Equal(only.Cost, await BudgetSpentAsync(keyId));
    }

    [Fact]
    public async Task When_every_attempt_fails_after_producing_each_has_a_row_and_the_last_is_the_final_one()
    {
        // Enough failures for every attempt the retry budget allows, retries included.
        for (var i = 0; i < 10; i++)
        {
            _a.Enqueue(FakeBehavior.MalformedAfterChunks(0));
            _b.Enqueue(FakeBehavior.MalformedAfterChunks(0));
        }
        var (keyId, secret) = await BudgetedKeyAsync();

        using (var response = await ChatAsync(secret, stream: true))
        {
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }

        var rows = (await _gw.LedgerAsync(2)).Where(r => r.KeyId == keyId).OrderBy(r => r.Attempt).ToList();
        Assert.True(rows.Count >= 2);
        Assert.Equal(Enumerable.Range(1, rows.Count), rows.Select(r => r.Attempt));
        Assert.Equal(_a.Requests.Count + _b.Requests.Count, rows.Count); // one row per upstream call, none twice
        Assert.Equal(["a/m1", "b/m2"], rows.Take(2).Select(r => r.Deployment));
        Assert.All(rows, r => Assert.True(r.Usage.Input > 0 && r.Cost > 0m && r.Status == 502));
        var ledgerTotal = rows.Sum(r => r.Cost!.Value);
        Assert.Equal((ledgerTotal, 1), await ReportForKeyAsync(keyId));
        Assert.Equal(ledgerTotal, await BudgetSpentAsync(keyId));
    }
}
