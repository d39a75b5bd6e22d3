using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Core.Traffic;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>
/// The shadow's own spend budget (<c>Sanjia:Shadow:&lt;alias&gt;:Budget</c>) and the body log's cost columns, against
/// fake vendors: alias <c>chat</c> = vendor a (<c>a/m1</c>), candidate vendor b (<c>b/m2</c>), embeddings from e.
/// </summary>
public sealed class ShadowBudgetTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;
    private FakeOpenAiServer _e = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync();
        _b = await FakeOpenAiServer.StartAsync();
        _e = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _e.DisposeAsync();
    }

    private Task<GatewayServer> StartAsync(params string[] extra) => StartInAsync(GatewayServer.NewDataDir(), extra);

    private Task<GatewayServer> StartInAsync(string dataDir, params string[] extra) => GatewayServer.StartInAsync(dataDir,
    [
        .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Provider("e", _e.BaseUrl, _e.ApiKey),
        "--Sanjia:Providers:e:EmbeddingModels:0=text-embedding-3-small",
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        "--Sanjia:Shadow:chat:Candidate=b/m2",
        "--Sanjia:Shadow:chat:Fraction=1",
        "--Sanjia:Shadow:chat:EmbeddingModel=e/text-embedding-3-small",
        "--Sanjia:Metering:Prices:a/m1:Currency=USD", "--Sanjia:Metering:Prices:a/m1:Input=1000", "--Sanjia:Metering:Prices:a/m1:Output=2000",
        "--Sanjia:Metering:Prices:e/text-embedding-3-small:Currency=USD", "--Sanjia:Metering:Prices:e/text-embedding-3-small:Input=1000", "--Sanjia:Metering:Prices:e/text-embedding-3-small:Output=0",
        .. extra,
    ]);

    private static async Task<JsonNode> WaitForAsync(GatewayServer gw, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var (response, body) = await gw.GetAsync("/admin/shadow/chat");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (done(body!)) return body!;
            Assert.True(DateTime.UtcNow < deadline, "shadow did not settle: " + body!.ToJsonString());
            await Task.Delay(50);
        }
    }

    private static long Counter(JsonNode shadow, string name) => shadow["counters"]![name]!.GetValue<long>();

    /// <summary>Sum and count of the priced ledger rows under a key id (null = the master key's).</summary>
    private static (decimal Sum, int Rows) Ledger(GatewayServer gw, string? keyId)
    {
        using var c = new SqliteConnection($"Data Source={gw.DatabasePath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT cost FROM ledger WHERE cost IS NOT NULL AND " + (keyId is null ? "key_id IS NULL" : "key_id = $k");
        if (keyId is not null) cmd.Parameters.AddWithValue("$k", keyId);
        using var r = cmd.ExecuteReader();
        var (sum, rows) = (0m, 0);
        while (r.Read())
        {
            sum += decimal.Parse(r.GetString(0), NumberStyles.Float, CultureInfo.InvariantCulture);
            rows++;
        }
        return (sum, rows);
    }

    [Fact]
    public async Task A_shadow_budget_lets_calls_through_until_the_next_one_could_overrun_it_then_skips_and_counts_the_rest()
    {
        // Each candidate call costs about 0.40 USD (1000 output tokens at 400/MTok) and its worst case is about the
        // same (MaxOutputTokens 1000): a budget of 1 USD covers two calls, the third could overrun it.
        _b.SetDefault(FakeBehavior.Reply("Hello from m2", promptTokens: 5, completionTokens: 1000));
        await using var gw = await StartAsync(
            "--Sanjia:Metering:Prices:b/m2:Currency=USD", "--Sanjia:Metering:Prices:b/m2:Input=300", "--Sanjia:Metering:Prices:b/m2:Output=400",
            "--Sanjia:Metering:Prices:b/m2:MaxOutputTokens=1000",
            "--Sanjia:Shadow:chat:Budget:Amount=1", "--Sanjia:Shadow:chat:Budget:Currency=USD", "--Sanjia:Shadow:chat:Budget:Period=daily");

        for (var i = 0; i < 5; i++)
        {
            var (response, text, deployment) = await gw.ChatAsync("chat", $"question {i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Hello from m1", text);
            Assert.Equal("a/m1", deployment);
        }
        var shadow = await WaitForAsync(gw, s => Counter(s, "completed") + Counter(s, "skipped_budget") + Counter(s, "failed") == 5);

        Assert.Equal(2, Counter(shadow, "completed"));
        Assert.Equal(3, Counter(shadow, "skipped_budget"));
        Assert.Equal(2, _b.Requests.Count);
        Assert.Equal(5, _a.Requests.Count);
        var budget = shadow["budget"]!;
        Assert.Equal(3, budget["skipped_budget"]!.GetValue<long>());
        Assert.Equal(1m, budget["limit"]!.GetValue<decimal>());
        Assert.Equal("USD", budget["currency"]!.GetValue<string>());
        Assert.Equal("daily", budget["period"]!.GetValue<string>());
        Assert.Equal(0m, budget["reserved"]!.GetValue<decimal>());
        Assert.NotNull(budget["resets_at"]);
        var spent = budget["spent"]!.GetValue<decimal>();
        Assert.InRange(spent, 0.8m, 1m);

        // The ledger holds the shadow's rows under its own key id, summing to what the budget counted; the caller's
        // rows stay under the caller (here the master key) and cover the five answers only.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        (decimal Sum, int Rows) rows;
        while ((rows = Ledger(gw, "shadow:chat")).Sum != spent)
        {
            Assert.True(DateTime.UtcNow < deadline, $"ledger under shadow:chat sums to {rows.Sum}, the budget counted {spent}");
            await Task.Delay(50);
        }
        Assert.True(rows.Sum <= 1m, $"shadow spend {rows.Sum} exceeds the budget");
        Assert.Equal(4, rows.Rows); // two candidate calls, two grading embeddings
        Assert.Equal(5, Ledger(gw, null).Rows);
        var spend = (await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key")).GetRawText();
        Assert.Contains("shadow:chat", spend, StringComparison.Ordinal);
        Assert.Contains("\"master\"", spend, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_does_not_forget_what_the_shadow_spent_in_its_window()
    {
        // Each candidate call costs about 0.40 USD and its worst case the same: a 1 USD daily budget covers two calls.
        _b.SetDefault(FakeBehavior.Reply("Hello from m2", promptTokens: 5, completionTokens: 1000));
        string[] settings =
        [
            "--Sanjia:Metering:Prices:b/m2:Currency=USD", "--Sanjia:Metering:Prices:b/m2:Input=300", "--Sanjia:Metering:Prices:b/m2:Output=400",
            "--Sanjia:Metering:Prices:b/m2:MaxOutputTokens=1000",
            "--Sanjia:Shadow:chat:Budget:Amount=1", "--Sanjia:Shadow:chat:Budget:Currency=USD", "--Sanjia:Shadow:chat:Budget:Period=daily",
        ];
        var dataDir = GatewayServer.NewDataDir();
        try
        {
            var first = await StartInAsync(dataDir, settings);
            Assert.Equal(HttpStatusCode.OK, (await first.ChatAsync("chat", "before the restart")).Response.StatusCode);
            var before = await WaitForAsync(first, s => Counter(s, "completed") == 1);
            var spentBefore = before["budget"]!["spent"]!.GetValue<decimal>();
            Assert.InRange(spentBefore, 0.4m, 0.5m);
            await first.StopAsync();

            // A fresh process in the same data folder starts from the ledger: one more call fits, the next does not.
            await using var second = await StartInAsync(dataDir, settings);
            for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await second.ChatAsync("chat", $"after the restart {i}")).Response.StatusCode);
            var after = await WaitForAsync(second, s => Counter(s, "completed") + Counter(s, "skipped_budget") + Counter(s, "failed") == 3);
            Assert.Equal(1, Counter(after, "completed"));
            Assert.Equal(2, Counter(after, "skipped_budget"));
            Assert.Equal(2, _b.Requests.Count); // one before, one after: never a third
            var spent = after["budget"]!["spent"]!.GetValue<decimal>();
            Assert.InRange(spent, spentBefore + 0.4m, 1m);
            Assert.True(Ledger(second, "shadow:chat").Sum <= 1m);
        }
        finally
        {
            GatewayServer.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task An_unpriced_candidate_is_skipped_under_a_budget_unless_allowed()
    {
        await using (var gw = await StartAsync("--Sanjia:Shadow:chat:Budget:Amount=1"))
        {
            for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await gw.ChatAsync("chat", $"q{i}")).Response.StatusCode);
            var shadow = await WaitForAsync(gw, s => Counter(s, "skipped_unpriced") == 3);
            Assert.Equal(0, Counter(shadow, "completed"));
            Assert.Empty(_b.Requests);
        }

        await using (var gw = await StartAsync("--Sanjia:Shadow:chat:Budget:Amount=1", "--Sanjia:Shadow:chat:AllowUnpriced=true"))
        {
            for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await gw.ChatAsync("chat", $"q{i}")).Response.StatusCode);
            var shadow = await WaitForAsync(gw, s => Counter(s, "completed") == 3);
            Assert.Equal(0, Counter(shadow, "skipped_unpriced"));
            Assert.Equal(3, _b.Requests.Count);
            Assert.True(shadow["budget"]!["allow_unpriced"]!.GetValue<bool>());
        }
    }

    [Fact]
    public async Task A_bad_budget_period_is_refused_at_start_up_naming_the_key()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync("--Sanjia:Shadow:chat:Budget:Amount=1", "--Sanjia:Shadow:chat:Budget:Period=weekly"));
        Assert.Contains("Sanjia:Shadow:chat:Budget:Period", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_log_rows_carry_the_answers_cost_at_the_deployments_price()
    {
        _a.SetDefault(FakeBehavior.Reply("Hello from m1", promptTokens: 120, completionTokens: 30));
        await using var gw = await StartAsync("--Sanjia:Logging:Bodies=true", "--Sanjia:Shadow:chat:Fraction=0");

        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await gw.ChatAsync("chat", $"logged {i}")).Response.StatusCode);
        var store = gw.Service<IBodyLogStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        IReadOnlyList<LoggedExchange> logged;
        while ((logged = await store.ReadAsync(new BodyLogQuery("chat", null, null, null), CancellationToken.None)).Count < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{logged.Count} of 3 exchanges logged");
            await Task.Delay(50);
        }
        Assert.All(logged, e =>
        {
            Assert.Equal(120, e.InputTokens);
            Assert.Equal(30, e.OutputTokens);
            Assert.Equal(((120 * 1000m) + (30 * 2000m)) / 1_000_000m, e.Cost);
            Assert.Equal("USD", e.Currency);
        });
    }
}
