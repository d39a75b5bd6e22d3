using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>OpenAI and Anthropic clients reaching an Anthropic backend (the documented fake), and a conversation hopping models.</summary>
public sealed class AnthropicBackendTests
{
    private const string Tools = """[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";

    private static string[] AnthropicProvider(FakeAnthropicServer fake) => GatewayServer.Provider("claude", fake.BaseUrl, fake.ApiKey, type: "anthropic");

    [Fact]
    public async Task Chat_completions_on_an_Anthropic_backend_returns_OpenAI_JSON_with_usage_and_sends_documented_headers()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(AnthropicProvider(fake));
        fake.Enqueue(new FakeAnthropicReply { Text = "Hi there", InputTokens = 11, CacheReadTokens = 4, OutputTokens = 3 });
        using var http = gateway.CreateHttpClient();

        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""
            {"model":"claude/claude-sonnet-4-5","messages":[{"role":"system","content":"Be nice."},{"role":"user","content":"Hello"}],"stop":"END","temperature":0.2}
            """));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var body = JsonNode.Parse(text)!;
        Assert.Equal("Hi there", (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.Equal(15, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(4, (int)body["usage"]!["prompt_tokens_details"]!["cached_tokens"]!);
        Assert.Equal(3, (int)body["usage"]!["completion_tokens"]!);

        var sent = fake.Requests.Single();
        Assert.Equal(200, sent.Status);
        Assert.Equal(fake.ApiKey, sent.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", sent.Headers["anthropic-version"]);
        var anthropic = JsonNode.Parse(sent.Body)!;
        Assert.Equal("claude-sonnet-4-5", (string?)anthropic["model"]);
        Assert.Equal("Be nice.", (string?)anthropic["system"]![0]!["text"]);
        Assert.Equal("END", (string?)anthropic["stop_sequences"]![0]);
        Assert.Equal(4096, (int)anthropic["max_tokens"]!);
    }

    [Fact]
    public async Task Json_schema_output_uses_the_forced_tool_emulation_and_comes_back_as_content()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(AnthropicProvider(fake));
        fake.Enqueue(new FakeAnthropicReply { Text = "", ToolUse = ("json_output", """{"answer":42}""") });
        using var http = gateway.CreateHttpClient();

        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""
            {"model":"claude/c","max_tokens":100,"messages":[{"role":"user","content":"Answer"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","properties":{"answer":{"type":"integer"}}}}}}
            """));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("""{"answer":42}""", (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        var sent = JsonNode.Parse(fake.Requests.Single().Body)!;
        Assert.Equal("tool", (string?)sent["tool_choice"]!["type"]);
        Assert.Equal("json_output", (string?)sent["tool_choice"]!["name"]);
    }

    [Fact]
    public async Task Unsupported_parameters_get_400_naming_them_unless_dropped()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(AnthropicProvider(fake));
        using var http = gateway.CreateHttpClient();
        using var refused = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""
            {"model":"claude/c","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2}}
            """));
        Assert.Equal(400, (int)refused.StatusCode);
        Assert.Equal("logit_bias", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["param"]);
        Assert.Empty(fake.Requests);

        using var dropped = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json("""
            {"model":"claude/c","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2},"drop_params":true}
            """));
        Assert.True(dropped.IsSuccessStatusCode);
        Assert.Equal(200, fake.Requests.Single().Status);
    }

    [Fact]
    public async Task Streaming_error_event_from_Anthropic_ends_the_OpenAI_stream_with_an_error()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(AnthropicProvider(fake));
        fake.Enqueue(new FakeAnthropicReply { Text = "a b c", ErrorMidStream = true });
        using var http = gateway.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = AnthropicMessagesTests.Json("""{"model":"claude/c","stream":true,"messages":[{"role":"user","content":"x"}]}"""),
        };
        var text = new StringBuilder();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line) text.AppendLine(line);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The OpenAI stream writer aborts the connection after the error event, so no client can mistake it for a
            // clean end; on a fast machine the reset can overtake the bytes already sent.
            Assert.DoesNotContain("[DONE]", text.ToString());
            return;
        }
        Assert.Contains("\"error\"", text.ToString());
        Assert.Contains("Overloaded", text.ToString());
        Assert.DoesNotContain("[DONE]", text.ToString());
    }

    [Fact]
    public async Task Conversation_moves_from_Anthropic_with_thinking_and_a_tool_call_to_OpenAI_and_back()
    {
        await using var anthropic = await FakeAnthropicServer.StartAsync();
        await using var openai = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync([.. AnthropicProvider(anthropic), .. GatewayServer.Provider("vendor", openai.BaseUrl, openai.ApiKey)]);
        using var http = gateway.CreateHttpClient();
        const string thinking = "The user wants weather; call the tool.";
        anthropic.Enqueue(
            new FakeAnthropicReply { Text = "Let me check.", Thinking = thinking, ToolUse = ("get_weather", """{"city":"Paris"}"""), ToolPieces = 5 },
            new FakeAnthropicReply { Text = "Tomorrow looks rainy." });
        openai.Enqueue(FakeBehavior.Reply("It is sunny in Paris."));

        // Turn 1 (streamed) on Anthropic: thinking with a signature, then a tool call in pieces.
        var history = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" } };
        var turn1 = await StreamAssistantAsync(http, "claude/claude-sonnet-4-5", history, thinkingEnabled: true);
        Assert.Equal(thinking, (string?)turn1["reasoning_content"]);
        var signature = (string?)turn1["thinking_blocks"]![0]!["signature"];
        Assert.StartsWith("sig_", signature);
        var call = turn1["tool_calls"]![0]!;
        Assert.Equal("""{"city":"Paris"}""", (string?)call["function"]!["arguments"]);
        history.Add(turn1);
        history.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = (string?)call["id"], ["content"] = "22C sunny" });

        // Turn 2 on an OpenAI-compatible vendor, with the Anthropic-specific fields still in the history.
        var turn2 = await CompleteAsync(http, "vendor/gpt-4o", history, thinkingEnabled: false);
        Assert.Equal("It is sunny in Paris.", (string?)turn2["content"]);
        Assert.Equal(200, openai.Requests.Single().StatusCode);
        history.Add(new JsonObject { ["role"] = "assistant", ["content"] = (string?)turn2["content"] });
        history.Add(new JsonObject { ["role"] = "user", ["content"] = "And tomorrow?" });

        // Turn 3 back on Anthropic: the signed thinking block and the tool pairing must pass its validation.
        var turn3 = await CompleteAsync(http, "claude/claude-sonnet-4-5", history, thinkingEnabled: true);
        Assert.Equal("Tomorrow looks rainy.", (string?)turn3["content"]);
        var requests = anthropic.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.True(r.Status == 200, r.Error));
        var sent = JsonNode.Parse(requests[1].Body)!["messages"]!;
        Assert.Equal(signature, (string?)sent[1]!["content"]![0]!["signature"]);
        Assert.Equal("thinking", (string?)sent[1]!["content"]![0]!["type"]);
        Assert.Equal("tool_result", (string?)sent[2]!["content"]![0]!["type"]);
    }

    private static JsonObject Request(string model, JsonArray history, bool thinkingEnabled, bool stream)
    {
        var request = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = 2048,
            ["messages"] = history.DeepClone(),
            ["tools"] = JsonNode.Parse(Tools),
        };
        if (thinkingEnabled) request["thinking"] = new JsonObject { ["type"] = "enabled", ["budget_tokens"] = 1024 };
        if (stream) request["stream"] = true;
        return request;
    }

    private static async Task<JsonObject> CompleteAsync(HttpClient http, string model, JsonArray history, bool thinkingEnabled)
    {
        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(Request(model, history, thinkingEnabled, false).ToJsonString()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["choices"]![0]!["message"]!.AsObject().DeepClone().AsObject();
    }

    /// <summary>Reassembles the assistant message from OpenAI chunks, as a client would.</summary>
    private static async Task<JsonObject> StreamAssistantAsync(HttpClient http, string model, JsonArray history, bool thinkingEnabled)
    {
        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(Request(model, history, thinkingEnabled, true).ToJsonString()));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var text = await response.Content.ReadAsStringAsync();
        var content = new StringBuilder();
        var reasoning = new StringBuilder();
        var signature = "";
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Args)>();
        var done = false;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (line == "data: [DONE]") { done = true; continue; }
            var delta = JsonNode.Parse(line[6..])!["choices"]?.AsArray().FirstOrDefault()?["delta"];
            if (delta is null) continue;
            content.Append((string?)delta["content"]);
            reasoning.Append((string?)delta["reasoning_content"]);
            foreach (var tb in delta["thinking_blocks"]?.AsArray() ?? []) signature += (string?)tb!["signature"];
            foreach (var tc in delta["tool_calls"]?.AsArray() ?? [])
            {
                var i = (int)tc!["index"]!;
                if (!calls.TryGetValue(i, out var c)) calls[i] = c = ((string?)tc["id"] ?? "", (string?)tc["function"]?["name"] ?? "", new StringBuilder());
                c.Args.Append((string?)tc["function"]?["arguments"]);
            }
        }
        Assert.True(done, "the stream ended without [DONE]");
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = content.ToString(),
            ["reasoning_content"] = reasoning.ToString(),
            ["thinking_blocks"] = new JsonArray { new JsonObject { ["type"] = "thinking", ["thinking"] = reasoning.ToString(), ["signature"] = signature } },
            ["tool_calls"] = new JsonArray([.. calls.Values.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id, ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Args.ToString() },
            })]),
        };
        return message;
    }
}

/// <summary>The Anthropic SDK through the gateway to an Anthropic backend: Anthropic → OpenAI → Anthropic and back, streamed.</summary>
public sealed class AnthropicRoundTripTests
{
    [Fact]
    public async Task Anthropic_SDK_streams_thinking_and_a_tool_call_from_an_Anthropic_backend_through_the_gateway()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(
            "--Sanjia:Providers:claude:Type=anthropic", $"--Sanjia:Providers:claude:BaseUrl={fake.BaseUrl}", $"--Sanjia:Providers:claude:ApiKey={fake.ApiKey}");
        fake.Enqueue(new FakeAnthropicReply { Text = "Checking.", Thinking = "need tool", ToolUse = ("get_weather", """{"city":"Rome"}"""), ToolPieces = 6 });

        var client = Sdk.Anthropic(gateway);
        var thinking = new StringBuilder();
        var signature = new StringBuilder();
        var json = new StringBuilder();
        await foreach (var e in client.Messages.CreateStreaming(Sdk.Create("""
            {"model":"claude/claude-sonnet-4-5","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},
             "tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Rome?"}]}
            """)))
        {
            if (!e.TryPickContentBlockDelta(out var d)) continue;
            if (d!.Delta.TryPickThinking(out var t)) thinking.Append(t!.Thinking);
            if (d.Delta.TryPickSignature(out var s)) signature.Append(s!.Signature);
            if (d.Delta.TryPickInputJson(out var j)) json.Append(j!.PartialJson);
        }
        Assert.Equal("need tool", thinking.ToString());
        Assert.StartsWith("sig_", signature.ToString());
        Assert.Equal("""{"city":"Rome"}""", json.ToString());
        var sent = JsonNode.Parse(fake.Requests.Single().Body)!;
        Assert.Equal(1024, (int)sent["thinking"]!["budget_tokens"]!);
        Assert.Equal(200, fake.Requests.Single().Status);
    }
}
