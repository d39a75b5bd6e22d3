using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using OpenAI;
using OpenAI.Chat;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>The issue's "done when": a new user's path through the admin API and the official OpenAI SDK.</summary>
public sealed class SdkBudgetFlowTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Team_key_with_small_budget_spends_through_the_sdk_until_429_and_the_report_matches_the_ledger()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("a short answer from the fake vendor", completionTokens: 12));
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));

        var team = await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "research", budget = new { amount = "5", currency = "USD", period = "monthly" } }, 201);
        var teamId = team.GetProperty("id").GetString()!;
        const decimal budget = 0.4m;
        var (keyId, secret) = await gw.CreateKeyAsync(new
        {
            name = "notebook", team_id = teamId, rpm_limit = 1000, metadata = new { owner = "ana" },
            budget = new { amount = budget.ToString(CultureInfo.InvariantCulture), currency = "USD", period = "daily" },
        });

        var client = new ChatClient("chat", new ApiKeyCredential(secret), new OpenAIClientOptions
        {
            Endpoint = new Uri(gw.BaseUrl + "/v1"),
            // The SDK honours Retry-After on 429, and a daily budget's Retry-After is the time to midnight UTC.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 20 };
        var succeeded = 0;
        ClientResultException? refusal = null;
        for (var i = 0; i < 100 && refusal is null; i++)
        {
            try
            {
                if (i % 2 == 0)
                {
                    ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage($"Question {i}: how are you?")], options);
                    Assert.False(string.IsNullOrEmpty(completion.Content[0].Text));
                }
                else
                {
                    var text = "";
                    await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage($"Question {i}: stream please")], options))
                    {
                        foreach (var part in update.ContentUpdate) text += part.Text;
                    }
                    Assert.False(string.IsNullOrEmpty(text));
                }
                succeeded++;
            }
            catch (ClientResultException ex)
            {
                refusal = ex;
            }
        }
        Assert.NotNull(refusal);
        Assert.Equal(429, refusal!.Status);
        Assert.Contains("budget_exceeded", refusal.GetRawResponse()!.Content.ToString());
        Assert.True(succeeded >= 2, $"only {succeeded} requests before the budget ran out");

        var report = await gw.AdminAsync(HttpMethod.Get, $"/admin/spend?group_by=key&from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O", CultureInfo.InvariantCulture))}");
        var rows = report.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("group").GetString() == keyId).ToList();
        var row = rows.Single(r => r.GetProperty("currency").GetString() == "USD");
        // The refused request used no tokens: it is listed apart (no currency), not as spend and not as unpriced use.
        var refused = rows.Single(r => r.GetProperty("currency").ValueKind == System.Text.Json.JsonValueKind.Null);
        Assert.Equal(1, refused.GetProperty("requests").GetInt32());
        Assert.Equal(0, refused.GetProperty("unpriced_requests").GetInt32());
        var reported = decimal.Parse(row.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture);
        var ledger = MeteringSetup.LedgerTotals(gw.DatabasePath, keyId)["USD"];
        output.WriteLine($"{succeeded} requests succeeded, then 429; reported {reported} USD, ledger {ledger} USD, budget {budget} USD");
        Assert.Equal(ledger, reported);
        Assert.True(reported <= budget);
        Assert.Equal(succeeded, row.GetProperty("requests").GetInt32());

        // The team's report row carries the same spend.
        var byTeam = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=team");
        Assert.Equal(reported, decimal.Parse(byTeam.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("group").GetString() == teamId && r.GetProperty("currency").GetString() == "USD").GetProperty("cost").GetString()!, CultureInfo.InvariantCulture));

        // CSV export agrees too.
        var csv = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, "/admin/spend?group_by=key&format=csv", GatewayServer.MasterKey));
        var line = (await csv.Content.ReadAsStringAsync()).Split('\n').Single(l => l.StartsWith(keyId + ",USD,", StringComparison.Ordinal));
        Assert.Equal(reported, decimal.Parse(line.Split(',')[^1], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Complete_answers_carry_their_cost_in_a_header_priced_with_cached_tokens()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        using var response = await gw.Anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Headers = { { "Authorization", "Bearer " + GatewayServer.MasterKey } },
            Content = MeteringSetup.ChatBody(),
        });
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
        var input = body.GetProperty("prompt_tokens").GetInt32();
        var outputTokens = body.GetProperty("completion_tokens").GetInt32();
        var expected = ((input * MeteringSetup.InputPrice) + (outputTokens * MeteringSetup.OutputPrice)) / 1_000_000m;
        Assert.Equal(expected, decimal.Parse(response.Headers.GetValues("x-sanjia-cost").Single(), CultureInfo.InvariantCulture));
        Assert.Equal("USD", response.Headers.GetValues("x-sanjia-cost-currency").Single());
    }
}
