using System.Net;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// A vendor that ignores <c>max_tokens</c> (the fake sends its 300 words whatever the request says) cannot push a
/// budgeted key's spend past its budget: the gateway ends the stream at the admitted output tokens.
/// </summary>
public sealed class BudgetOutputLimitTests(ITestOutputHelper output)
{
    private const int MaxTokens = 10;

    private static HttpRequestMessage Stream(string secret, string path, string body) => new(HttpMethod.Post, path)
    {
        Headers = { { "Authorization", "Bearer " + secret } },
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };

    [Fact]
    public async Task A_vendor_that_ignores_max_tokens_is_cut_at_the_admitted_output_and_spend_stays_within_the_budget()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(new FakeBehavior { ChunkCount = 300 });
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        const decimal budget = 0.3m; // one uncut answer (300 output tokens at 2000 USD/M = 0.6 USD) would overspend it twice over
        var (keyId, secret) = await gw.CreateKeyAsync(new { name = "capped", rpm_limit = 1000, budget = new { amount = "0.3", currency = "USD", period = "daily" } });

        var answered = 0;
        HttpStatusCode? refused = null;
        for (var i = 0; i < 60 && refused is null; i++)
        {
            using var response = await gw.Anonymous.SendAsync(Stream(secret, "/v1/chat/completions",
                $$"""{"model":"chat","stream":true,"stream_options":{"include_usage":true},"max_tokens":{{MaxTokens}},"messages":[{"role":"user","content":"Tell me everything, request {{i}}"}]}"""),
                HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused = response.StatusCode;
                break;
            }
            var events = await Sse.ReadDataAsync(response);
            Assert.Equal("[DONE]", events[^1]);
            var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
            var content = chunks.Count(c => c.GetProperty("choices").EnumerateArray().Any(ch => ch.GetProperty("delta").TryGetProperty("content", out var t) && t.GetString() is { Length: > 0 }));
            Assert.InRange(content, 1, MaxTokens); // every word is at least one token
            Assert.Equal("length", chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
                .Select(ch => ch.GetProperty("finish_reason")).Last(f => f.ValueKind == JsonValueKind.String).GetString());
            var usage = chunks[^1].GetProperty("usage");
            Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 1, MaxTokens + 5); // at most the held-back word more
            Assert.True(usage.GetProperty("cost").GetDecimal() > 0m);
            answered++;
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, refused);
        Assert.True(answered >= 2, $"only {answered} answers before the budget ran out");

        var rows = (await gw.LedgerAsync(answered + 1)).Where(r => r.KeyId == keyId && r.Status == 200).ToList();
        Assert.Equal(answered, rows.Count);
        Assert.All(rows, r => Assert.InRange(r.Usage.Output, 1, MaxTokens + 5));
        var spent = MeteringSetup.LedgerTotals(gw.DatabasePath, keyId)["USD"];
        output.WriteLine($"{answered} answers cut at {MaxTokens} tokens, then 429; spent {spent} of {budget} USD");
        Assert.True(spent <= budget, $"spent {spent} USD of a {budget} USD budget");
    }

    [Fact]
    public async Task An_Anthropic_client_sees_max_tokens_as_the_stop_reason_when_the_gateway_cuts_the_stream()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(new FakeBehavior { ChunkCount = 300 });
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        var (_, secret) = await gw.CreateKeyAsync(new { name = "capped", budget = new { amount = "5", currency = "USD", period = "daily" } });

        using var response = await gw.Anonymous.SendAsync(Stream(secret, "/v1/messages",
            $$"""{"model":"chat","stream":true,"max_tokens":{{MaxTokens}},"messages":[{"role":"user","content":"Tell me everything"}]}"""),
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = (await Sse.ReadDataAsync(response)).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        var delta = events.Single(e => e.GetProperty("type").GetString() == "message_delta");
        Assert.Equal("max_tokens", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.InRange(delta.GetProperty("usage").GetProperty("output_tokens").GetInt32(), 1, MaxTokens + 5);
        Assert.Equal("message_stop", events[^1].GetProperty("type").GetString());
    }
}
