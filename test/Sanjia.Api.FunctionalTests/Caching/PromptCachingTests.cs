using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;

namespace Sanjia.Api.FunctionalTests.Caching;

/// <summary>
/// Vendor prompt caching through the gateway (docs/metering.md, "Prompt caching"): Anthropic <c>cache_control</c>
/// breakpoints reach an Anthropic backend from an Anthropic client and from an OpenAI client; the cache reads and
/// writes it reports come back to both, are priced at the cache-read and cache-write prices, and reach the ledger
/// and the spend report.
/// </summary>
public sealed class PromptCachingTests
{
    // Per million tokens: input 3, cache read 0.3, cache write 3.75, output 15 (Anthropic's Sonnet rates).
    private static readonly string[] Prices =
    [
        "--Sanjia:Metering:Prices:claude/claude-test:Currency=USD", "--Sanjia:Metering:Prices:claude/claude-test:Input=3",
        "--Sanjia:Metering:Prices:claude/claude-test:CachedInput=0.3", "--Sanjia:Metering:Prices:claude/claude-test:CacheWrite=3.75",
        "--Sanjia:Metering:Prices:claude/claude-test:Output=15",
    ];

    private const decimal Expected = ((10 * 3m) + (60 * 0.3m) + (30 * 3.75m) + (5 * 15m)) / 1_000_000m;

    private static async Task<(FakeAnthropicServer Fake, GatewayServer Gateway)> StartAsync()
    {
        var fake = await FakeAnthropicServer.StartAsync();
        var gateway = await GatewayServer.StartWithArgsAsync([.. GatewayServer.Provider("claude", fake.BaseUrl, fake.ApiKey, type: "anthropic"),
            .. GatewayServer.Deployment("sonnet", 0, "claude", "claude-test"), .. Prices]);
        fake.Enqueue(new FakeAnthropicReply { Text = "Cached.", InputTokens = 10, CacheReadTokens = 60, CacheWriteTokens = 30, OutputTokens = 5 });
        return (fake, gateway);
    }

    [Fact]
    public async Task An_anthropic_client_keeps_its_breakpoints_and_sees_cache_reads_and_writes_priced_apart()
    {
        var (fake, gw) = await StartAsync();
        await using var _ = fake;
        await using var __ = gw;

        using var response = await gw.Http.PostAsJsonAsync("/v1/messages", JsonNode.Parse("""
            {"model":"sonnet","max_tokens":50,
             "system":[{"type":"text","text":"A long, stable system prompt.","cache_control":{"type":"ephemeral"}}],
             "tools":[{"name":"lookup","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral","ttl":"1h"}}],
             "messages":[{"role":"user","content":[{"type":"text","text":"The document...","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Question?"}]}]}
            """));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        var sent = JsonNode.Parse(fake.Requests.Single().Body)!;
        Assert.Equal("ephemeral", (string?)sent["system"]![0]!["cache_control"]!["type"]);
        Assert.Equal("1h", (string?)sent["tools"]![0]!["cache_control"]!["ttl"]);
        Assert.Equal("ephemeral", (string?)sent["messages"]![0]!["content"]![0]!["cache_control"]!["type"]);
        Assert.Null(sent["messages"]![0]!["content"]![1]!["cache_control"]);

        var usage = body["usage"]!;
        Assert.Equal((10, 30, 60, 5), ((int)usage["input_tokens"]!, (int)usage["cache_creation_input_tokens"]!, (int)usage["cache_read_input_tokens"]!, (int)usage["output_tokens"]!));
        var row = (await gw.LedgerAsync()).Single();
        Assert.Equal((100, 60, 30), (row.Usage.Input, row.Usage.CachedInput, row.Usage.CacheWrite));
        Assert.Equal(Expected, row.Cost);
        Assert.Equal(Expected, (decimal)usage["cost"]!);

        var report = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=model");
        var line = report.GetProperty("rows")[0];
        Assert.Equal((60, 30), (line.GetProperty("cached_input_tokens").GetInt32(), line.GetProperty("cache_write_tokens").GetInt32()));
        Assert.Equal(Expected, decimal.Parse(line.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task An_openai_client_places_breakpoints_on_content_parts_and_tools_and_sees_the_cache_figures()
    {
        var (fake, gw) = await StartAsync();
        await using var _ = fake;
        await using var __ = gw;

        using var response = await gw.Http.PostAsJsonAsync("/v1/chat/completions", JsonNode.Parse("""
            {"model":"sonnet","max_tokens":50,
             "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}},"cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"system","content":[{"type":"text","text":"A long, stable system prompt.","cache_control":{"type":"ephemeral"}}]},
                         {"role":"user","content":[{"type":"text","text":"The document...","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Question?"}]}]}
            """));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        var sent = JsonNode.Parse(fake.Requests.Single().Body)!;
        Assert.Equal("ephemeral", (string?)sent["system"]![0]!["cache_control"]!["type"]);
        Assert.Equal("ephemeral", (string?)sent["tools"]![0]!["cache_control"]!["type"]);
        Assert.Equal("ephemeral", (string?)sent["messages"]![0]!["content"]![0]!["cache_control"]!["type"]);

        var details = body["usage"]!["prompt_tokens_details"]!;
        Assert.Equal((100, 60, 30), ((int)body["usage"]!["prompt_tokens"]!, (int)details["cached_tokens"]!, (int)details["cache_creation_tokens"]!));
        var row = (await gw.LedgerAsync()).Single();
        Assert.Equal((60, 30, Expected), (row.Usage.CachedInput, row.Usage.CacheWrite, row.Cost));
    }
}
