using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>
/// OpenAI clients with thinking on an Anthropic backend: signed thinking blocks survive a round trip (streamed and
/// not), and <c>reasoning_effort</c>, sampling settings, forced tools and structured output give requests the
/// documented fake accepts (budget below <c>max_tokens</c>, no temperature or top_k, no forced tool with thinking).
/// </summary>
public sealed class AnthropicThinkingTests
{
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";

    private static string[] Provider(FakeAnthropicServer fake) => GatewayServer.Provider("claude", fake.BaseUrl, fake.ApiKey, type: "anthropic");

    private static async Task<JsonNode> PostAsync(HttpClient http, string json)
    {
        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(json));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task Streamed_thinking_block_reaches_the_client_whole_and_goes_back_to_Anthropic_unmodified()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(Provider(fake));
        using var http = gateway.CreateHttpClient();
        const string thinking = "The user greets me; I should greet back politely.";
        fake.Enqueue(
            new FakeAnthropicReply { Thinking = thinking, Text = "Hello!" },
            new FakeAnthropicReply { Thinking = "Second turn thoughts.", Text = "Fine, thanks." },
            new FakeAnthropicReply { Text = "Bye." });

        // Turn 1, streamed: the client keeps the thinking_blocks entries of the deltas (LiteLLM's fields), merging
        // fragments of one block (text and signature) the way LiteLLM's stream builder does.
        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""
            {"model":"claude/claude-sonnet-4-5","stream":true,"max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},
             "messages":[{"role":"user","content":"Hi"}]}
            """));
        var chunks = await Sse.ReadDataAsync(response);
        var blocks = new List<JsonObject>();
        var reasoning = "";
        var content = "";
        foreach (var data in chunks.Where(c => c != "[DONE]"))
        {
            var delta = JsonNode.Parse(data)!["choices"]?.AsArray().FirstOrDefault()?["delta"];
            if (delta is null) continue;
            reasoning += (string?)delta["reasoning_content"];
            content += (string?)delta["content"];
            foreach (var tb in delta["thinking_blocks"]?.AsArray() ?? [])
            {
                if (blocks.Count == 0 || !string.IsNullOrEmpty((string?)blocks[^1]["signature"])) blocks.Add(new JsonObject { ["type"] = "thinking", ["thinking"] = "", ["signature"] = "" });
                blocks[^1]["thinking"] = (string?)blocks[^1]["thinking"] + (string?)tb!["thinking"];
                blocks[^1]["signature"] = (string?)blocks[^1]["signature"] + (string?)tb["signature"];
            }
        }
        Assert.Equal(thinking, reasoning);
        var block = Assert.Single(blocks);
        Assert.Equal(thinking, (string?)block["thinking"]);
        Assert.StartsWith("sig_", (string?)block["signature"]);

        // Turn 2, not streamed, with the block sent back: Anthropic accepts it only unmodified.
        var history = new JsonArray
        {
            new JsonObject { ["role"] = "user", ["content"] = "Hi" },
            new JsonObject { ["role"] = "assistant", ["content"] = content, ["thinking_blocks"] = new JsonArray(block.DeepClone()) },
            new JsonObject { ["role"] = "user", ["content"] = "How are you?" },
        };
        var turn2 = await PostAsync(http, new JsonObject
        {
            ["model"] = "claude/claude-sonnet-4-5", ["max_tokens"] = 2048, ["messages"] = history.DeepClone(),
            ["thinking"] = JsonNode.Parse("""{"type":"enabled","budget_tokens":1024}"""),
        }.ToJsonString());
        Assert.All(fake.Requests, r => Assert.True(r.Status == 200, r.Error));
        var sentBack = JsonNode.Parse(fake.Requests[1].Body)!["messages"]![1]!["content"]![0]!;
        Assert.Equal(thinking, (string?)sentBack["thinking"]);

        // Turn 3: the non-streamed answer's block goes back as well.
        var message = turn2["choices"]![0]!["message"]!;
        Assert.Equal("Second turn thoughts.", (string?)message["thinking_blocks"]![0]!["thinking"]);
        history.Add(message.DeepClone());
        history.Add(new JsonObject { ["role"] = "user", ["content"] = "Bye" });
        await PostAsync(http, new JsonObject
        {
            ["model"] = "claude/claude-sonnet-4-5", ["max_tokens"] = 2048, ["messages"] = history,
            ["thinking"] = JsonNode.Parse("""{"type":"enabled","budget_tokens":1024}"""),
        }.ToJsonString());
        Assert.Equal(3, fake.Requests.Count);
        Assert.All(fake.Requests, r => Assert.True(r.Status == 200, r.Error));
    }

    [Theory]
    [InlineData("high", null, 8192, 4096)] // no max_tokens: the default 4096 for the answer on top of the budget
    [InlineData("low", null, 5120, 1024)]
    [InlineData("high", 3000, 3000, 2999)] // the caller's cap holds; the budget stays below it
    [InlineData("medium", 1024, 1024, 0)] // too small for Anthropic's 1024 minimum: no thinking
    public async Task Reasoning_effort_gives_a_budget_below_max_tokens_and_drops_sampling_settings_thinking_refuses(string effort, int? maxTokens, int sentMax, int budget)
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(Provider(fake));
        using var http = gateway.CreateHttpClient();
        var request = new JsonObject
        {
            ["model"] = "claude/claude-sonnet-4-5", ["reasoning_effort"] = effort, ["temperature"] = 0.3, ["top_k"] = 5, ["top_p"] = 0.5,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Think." }),
        };
        if (maxTokens is { } m) request["max_tokens"] = m;
        await PostAsync(http, request.ToJsonString());

        var sent = fake.Requests.Single();
        Assert.True(sent.Status == 200, sent.Error);
        var body = JsonNode.Parse(sent.Body)!;
        Assert.Equal(sentMax, (int)body["max_tokens"]!);
        if (budget == 0)
        {
            Assert.Null(body["thinking"]);
            Assert.Equal(0.3, (double)body["temperature"]!);
            Assert.Equal(5, (int)body["top_k"]!);
            return;
        }
        Assert.Equal(budget, (int)body["thinking"]!["budget_tokens"]!);
        Assert.Null(body["temperature"]);
        Assert.Null(body["top_k"]);
        Assert.Null(body["top_p"]);
    }

    [Theory]
    [InlineData("\"required\"", "any")]
    [InlineData("""{"type":"function","function":{"name":"get_weather"}}""", "tool")]
    public async Task A_forced_tool_wins_over_reasoning_effort(string toolChoice, string sentChoice)
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(Provider(fake));
        using var http = gateway.CreateHttpClient();
        fake.Enqueue(new FakeAnthropicReply { Text = "", ToolUse = ("get_weather", """{"city":"Oslo"}""") });
        var body = await PostAsync(http, $$"""
            {"model":"claude/c","reasoning_effort":"medium","tools":{{Tools}},"tool_choice":{{toolChoice}},"messages":[{"role":"user","content":"Oslo?"}]}
            """);
        Assert.Equal("tool_calls", (string?)body["choices"]![0]!["finish_reason"]);
        var sent = fake.Requests.Single();
        Assert.True(sent.Status == 200, sent.Error);
        var anthropic = JsonNode.Parse(sent.Body)!;
        Assert.Null(anthropic["thinking"]);
        Assert.Equal(sentChoice, (string?)anthropic["tool_choice"]!["type"]);
    }

    [Fact]
    public async Task Structured_output_with_reasoning_effort_offers_the_json_tool_without_forcing_it()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(Provider(fake));
        using var http = gateway.CreateHttpClient();
        fake.Enqueue(new FakeAnthropicReply { Thinking = "JSON it is.", Text = "", ToolUse = ("json_output", """{"answer":42}""") });
        var body = await PostAsync(http, """
            {"model":"claude/c","reasoning_effort":"low","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"Answer"}]}
            """);
        Assert.Equal("""{"answer":42}""", (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        var sent = fake.Requests.Single();
        Assert.True(sent.Status == 200, sent.Error);
        var anthropic = JsonNode.Parse(sent.Body)!;
        Assert.Equal(1024, (int)anthropic["thinking"]!["budget_tokens"]!);
        Assert.Null(anthropic["tool_choice"]);
        Assert.Equal("json_output", (string?)anthropic["tools"]![0]!["name"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Structured_output_next_to_tools_leaves_the_callers_tools_callable(bool stream)
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(Provider(fake));
        using var http = gateway.CreateHttpClient();
        fake.Enqueue(new FakeAnthropicReply { Text = "", ToolUse = ("get_weather", """{"city":"Oslo"}""") });
        const string format = """{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object","properties":{"summary":{"type":"string"}}}}}""";
        var request = $$"""
            {"model":"claude/c","stream":{{(stream ? "true" : "false")}},"tools":{{Tools}},"messages":[{"role":"user","content":"Oslo?"}],"response_format":{{format}}}
            """;
        string? finish;
        string? called;
        if (stream)
        {
            using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(request));
            var chunks = (await Sse.ReadDataAsync(response)).Where(c => c != "[DONE]").Select(c => JsonNode.Parse(c)!).ToList();
            finish = chunks.Select(c => (string?)c["choices"]?.AsArray().FirstOrDefault()?["finish_reason"]).LastOrDefault(f => f is not null);
            called = chunks.Select(c => (string?)c["choices"]?.AsArray().FirstOrDefault()?["delta"]?["tool_calls"]?[0]?["function"]?["name"]).FirstOrDefault(n => n is not null);
        }
        else
        {
            var body = await PostAsync(http, request);
            finish = (string?)body["choices"]![0]!["finish_reason"];
            called = (string?)body["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!["name"];
        }
        Assert.Equal("tool_calls", finish);
        Assert.Equal("get_weather", called);
        var anthropic = JsonNode.Parse(fake.Requests.Single().Body)!;
        Assert.Null(anthropic["tool_choice"]);
        Assert.Equal(["get_weather", "json_output"], anthropic["tools"]!.AsArray().Select(t => (string?)t!["name"]));
    }
}
