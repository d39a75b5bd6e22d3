using System.Globalization;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// The cost contract of docs/metering.md: a stream's final usage (and a complete answer's usage) carries
/// <c>cost</c> and <c>cost_currency</c>, equal to what the request's ledger row records, in every protocol.
/// </summary>
public sealed class StreamCostTests
{
    private const string StreamBody = """{"model":"chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"What does it cost?"}]}""";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<LedgerEntry> RowAsync(GatewayServer gw, int status = 200) =>
        (await gw.LedgerAsync()).Single(r => r.Status == status);

    [Fact]
    public async Task A_passed_through_stream_carries_the_ledger_cost_in_its_usage_chunk_and_stays_valid_against_the_spec()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("a streamed answer with a price", promptTokens: 17, completionTokens: 9));
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));

        using var response = await gw.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(StreamBody) });
        var events = await Sse.ReadDataAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        foreach (var e in events[..^1]) OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", e);
        var withUsage = events[..^1].Where(e => JsonDocument.Parse(e).RootElement.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object).ToList();
        var usage = JsonDocument.Parse(Assert.Single(withUsage)).RootElement.GetProperty("usage");

        var row = await RowAsync(gw);
        Assert.Equal(((17 * MeteringSetup.InputPrice) + (9 * MeteringSetup.OutputPrice)) / 1_000_000m, row.Cost);
        Assert.Equal(row.Cost, usage.GetProperty("cost").GetDecimal());
        Assert.Equal("USD", usage.GetProperty("cost_currency").GetString());
        Assert.Equal(17, usage.GetProperty("prompt_tokens").GetInt32()); // the vendor's fields are untouched
        // Only the usage chunk changed: the others carry no cost.
        Assert.All(events[..^1].Except(withUsage), e => Assert.DoesNotContain("\"cost\"", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_complete_answer_carries_the_same_cost_in_its_usage_and_its_header()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("a complete answer", promptTokens: 21, completionTokens: 5));
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));

        using var response = await gw.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody() });
        var text = await response.Content.ReadAsStringAsync();
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", text);
        var usage = JsonDocument.Parse(text).RootElement.GetProperty("usage");
        var row = await RowAsync(gw);
        Assert.NotNull(row.Cost);
        Assert.Equal(row.Cost, usage.GetProperty("cost").GetDecimal());
        Assert.Equal("USD", usage.GetProperty("cost_currency").GetString());
        Assert.Equal(row.Cost, decimal.Parse(response.Headers.GetValues("x-sanjia-cost").Single(), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task An_unpriced_stream_says_null_and_names_no_currency()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("nobody priced me", promptTokens: 8, completionTokens: 4));
        await using var gw = await GatewayServer.StartWithArgsAsync(
            [.. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey), .. GatewayServer.Deployment("chat", 0, "fake", "no-price")]);

        using var response = await gw.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(StreamBody) });
        var events = await Sse.ReadDataAsync(response);
        var last = JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage");
        Assert.Equal(JsonValueKind.Null, last.GetProperty("cost").ValueKind);
        Assert.False(last.TryGetProperty("cost_currency", out _));
        OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", events[^2]);
        Assert.Null((await RowAsync(gw)).Cost);

        using var complete = await gw.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody() });
        Assert.Equal("unpriced", complete.Headers.GetValues("x-sanjia-cost").Single());
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(await complete.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("cost").ValueKind);
    }

    [Fact]
    public async Task A_stream_translated_from_an_Anthropic_backend_carries_the_ledger_cost()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        fake.Enqueue(new FakeAnthropicReply { Text = "Bonjour", InputTokens = 30, OutputTokens = 6 });
        const string p = "--Sanjia:Metering:Prices:claude/claude-sonnet-4-5:";
        await using var gw = await GatewayServer.StartWithArgsAsync(
            [.. GatewayServer.Provider("claude", fake.BaseUrl, fake.ApiKey, type: "anthropic"), $"{p}Currency=CNY", $"{p}Input=3", $"{p}Output=15"]);

        using var response = await gw.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = Json(StreamBody.Replace("\"chat\"", "\"claude/claude-sonnet-4-5\"", StringComparison.Ordinal)),
        });
        var events = await Sse.ReadDataAsync(response);
        OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", events[^2]);
        var usage = JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage");
        var row = await RowAsync(gw);
        Assert.Equal(((30 * 3m) + (6 * 15m)) / 1_000_000m, row.Cost);
        Assert.Equal(row.Cost, usage.GetProperty("cost").GetDecimal());
        Assert.Equal("CNY", usage.GetProperty("cost_currency").GetString());
    }

    [Fact]
    public async Task Anthropic_and_Responses_streams_carry_the_ledger_cost_in_their_final_usage()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("an answer in another protocol", promptTokens: 13, completionTokens: 7));
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        var expected = ((13 * MeteringSetup.InputPrice) + (7 * MeteringSetup.OutputPrice)) / 1_000_000m;
        using var http = gw.CreateHttpClient();

        using (var messages = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/messages")
        {
            Content = Json("""{"model":"chat","max_tokens":40,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""),
        }, HttpCompletionOption.ResponseHeadersRead))
        {
            var events = await Sse.ReadDataAsync(messages);
            var delta = events.Select(e => JsonDocument.Parse(e).RootElement).Single(e => e.GetProperty("type").GetString() == "message_delta");
            Assert.Equal(expected, delta.GetProperty("usage").GetProperty("cost").GetDecimal());
            Assert.Equal("USD", delta.GetProperty("usage").GetProperty("cost_currency").GetString());
        }
        Assert.Equal(expected, (await RowAsync(gw)).Cost);

        using var responses = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = Json("""{"model":"chat","stream":true,"input":"hi"}"""),
        }, HttpCompletionOption.ResponseHeadersRead);
        var completed = (await Sse.ReadDataAsync(responses)).Select(e => JsonDocument.Parse(e).RootElement)
            .Single(e => e.GetProperty("type").GetString() == "response.completed");
        var usage = completed.GetProperty("response").GetProperty("usage");
        Assert.Equal(expected, usage.GetProperty("cost").GetDecimal());
        Assert.Equal("USD", usage.GetProperty("cost_currency").GetString());
        var rows = await gw.LedgerAsync(2);
        Assert.All(rows, r => Assert.Equal(expected, r.Cost));
    }
}
