using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeGemini;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>OpenAI and Anthropic clients reaching a Gemini backend (the documented fake), tools and streams included.</summary>
public sealed class GeminiBackendTests
{
    private const string WeatherTool = """{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}""";

    private static string[] GeminiProvider(FakeGeminiServer fake) => GatewayServer.Provider("gem", fake.BaseUrl, fake.ApiKey, type: "gemini");

    private static ChatClient OpenAiChat(GatewayServer gateway, string model) =>
        new OpenAIClient(new ApiKeyCredential(GatewayServer.MasterKey), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") }).GetChatClient(model);

    [Fact]
    public async Task OpenAI_SDK_gets_a_Gemini_answer_with_usage_and_the_documented_request()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GeminiProvider(fake));
        fake.Enqueue(new FakeGeminiReply { Text = "Bonjour", PromptTokens = 9, OutputTokens = 2, ThoughtTokens = 3, CachedTokens = 4 });

        ChatCompletion answer = await OpenAiChat(gateway, "gem/gemini-2.5-flash").CompleteChatAsync(
            [new SystemChatMessage("Answer in French."), new UserChatMessage("Hello")],
            new ChatCompletionOptions { Temperature = 0.2f, MaxOutputTokenCount = 50 });

        Assert.Equal("Bonjour", answer.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        Assert.Equal(9, answer.Usage.InputTokenCount);
        Assert.Equal(5, answer.Usage.OutputTokenCount);
        Assert.Equal(4, answer.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(3, answer.Usage.OutputTokenDetails.ReasoningTokenCount);

        var sent = fake.Requests.Single();
        Assert.True(sent.Status == 200, sent.Error);
        Assert.Equal("/v1beta/models/gemini-2.5-flash:generateContent", sent.Path);
        Assert.Equal(fake.ApiKey, sent.Headers["x-goog-api-key"]);
        var body = JsonNode.Parse(sent.Body)!;
        Assert.Equal("Answer in French.", (string?)body["systemInstruction"]!["parts"]![0]!["text"]);
        Assert.Equal(50, (int)body["generationConfig"]!["maxOutputTokens"]!);
    }

    [Fact]
    public async Task Streaming_function_calls_split_across_chunks_then_results_go_back_with_the_thought_signature()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GeminiProvider(fake));
        fake.Enqueue(new FakeGeminiReply { Thought = "Two cities.", Text = "Checking both.", TextChunks = 3,
                FunctionCalls = [("get_weather", """{"city":"Paris"}"""), ("get_weather", """{"city":"Oslo"}""")] },
            new FakeGeminiReply { Text = "Paris sunny, Oslo cold." });
        using var http = gateway.CreateHttpClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = AnthropicMessagesTests.Json($$"""{"model":"gem/gemini-3-pro","stream":true,"stream_options":{"include_usage":true},"tools":[{{WeatherTool}}],"messages":[{"role":"user","content":"Weather in Paris and Oslo?"}]}"""),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadDataAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        var deltas = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0]).ToList();
        Assert.Equal("Checking both.", string.Concat(deltas.Select(d => d.GetProperty("delta")).Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString())));
        Assert.Equal("Two cities.", string.Concat(deltas.Select(d => d.GetProperty("delta")).Where(d => d.TryGetProperty("reasoning_content", out _)).Select(d => d.GetProperty("reasoning_content").GetString())));
        var calls = deltas.Select(d => d.GetProperty("delta")).Where(d => d.TryGetProperty("tool_calls", out _)).Select(d => d.GetProperty("tool_calls")[0]).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal([0, 1], calls.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal("tool_calls", deltas[^1].GetProperty("finish_reason").GetString());
        Assert.True(chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.Equal("/v1beta/models/gemini-3-pro:streamGenerateContent", fake.Requests[0].Path);
        Assert.Equal("?alt=sse", fake.Requests[0].Query);

        // Turn 2: the tool results, with the assistant message as the client rebuilt it from the stream.
        var toolCalls = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
        {
            ["id"] = c.GetProperty("id").GetString(), ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = c.GetProperty("function").GetProperty("name").GetString(), ["arguments"] = c.GetProperty("function").GetProperty("arguments").GetString() },
        })]);
        var turn2 = new JsonObject
        {
            ["model"] = "gem/gemini-3-pro",
            ["tools"] = JsonNode.Parse($"[{WeatherTool}]"),
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris and Oslo?" },
                new JsonObject { ["role"] = "assistant", ["content"] = "Checking both.", ["tool_calls"] = toolCalls },
                new JsonObject { ["role"] = "tool", ["tool_call_id"] = calls[0].GetProperty("id").GetString(), ["content"] = "sunny" },
                new JsonObject { ["role"] = "tool", ["tool_call_id"] = calls[1].GetProperty("id").GetString(), ["content"] = """{"temp":-3}""" }),
        };
        using var second = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(turn2.ToJsonString()));
        var text = await second.Content.ReadAsStringAsync();
        Assert.True(second.IsSuccessStatusCode, text + " / fake said: " + fake.Requests[^1].Error);
        Assert.Equal("Paris sunny, Oslo cold.", (string?)JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]);
        var sent = JsonNode.Parse(fake.Requests[1].Body)!["contents"]!.AsArray();
        Assert.Equal(["user", "model", "user"], sent.Select(c => (string?)c!["role"]));
        Assert.NotNull(sent[1]!["parts"]![1]!["thoughtSignature"]);
        Assert.Equal(-3, (int)sent[2]!["parts"]![1]!["functionResponse"]!["response"]!["temp"]!);
    }

    [Fact]
    public async Task Anthropic_SDK_streams_a_Gemini_tool_call_and_sends_the_result_back()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GeminiProvider(fake));
        fake.Enqueue(new FakeGeminiReply { Text = "", FunctionCalls = [("get_weather", """{"city":"Rome"}""")] }, new FakeGeminiReply { Text = "Warm." });
        var client = Sdk.Anthropic(gateway);
        const string tool = """{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}""";

        var json = new StringBuilder();
        string? toolId = null;
        await foreach (var e in client.Messages.CreateStreaming(Sdk.Create($$"""
            {"model":"gem/gemini-2.5-pro","max_tokens":256,"tools":[{{tool}}],"messages":[{"role":"user","content":"Rome?"}]}
            """)))
        {
            if (e.TryPickContentBlockStart(out var s) && s!.ContentBlock.TryPickToolUse(out var tu)) toolId = tu!.ID;
            if (e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickInputJson(out var ij)) json.Append(ij!.PartialJson);
        }
        Assert.Equal("""{"city":"Rome"}""", json.ToString());
        Assert.NotNull(toolId);

        var reply = await client.Messages.Create(Sdk.Create($$$"""
            {"model":"gem/gemini-2.5-pro","max_tokens":256,"tools":[{{{tool}}}],"messages":[
              {"role":"user","content":"Rome?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"{{{toolId}}}","name":"get_weather","input":{"city":"Rome"} }]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"{{{toolId}}}","content":"25 C"}]}]}
            """));
        Assert.True(reply.Content[0].TryPickText(out var text), fake.Requests[^1].Error);
        Assert.Equal("Warm.", text!.Text);
        Assert.Equal(200, fake.Requests[1].Status);
    }

    [Theory]
    [InlineData(429, "RESOURCE_EXHAUSTED", 2)]
    [InlineData(503, "UNAVAILABLE", 2)]
    [InlineData(500, "INTERNAL", 2)]
    [InlineData(400, "INVALID_ARGUMENT", 1)]
    public async Task Transient_Gemini_errors_are_retried_by_routing_and_request_errors_are_not(int upstream, string status, int attempts)
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GeminiProvider(fake));
        fake.Enqueue(new FakeGeminiReply { Status = upstream, ErrorStatus = status }, new FakeGeminiReply { Text = "recovered" });
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", AnthropicMessagesTests.Json("""{"model":"gem/g","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"""));
        Assert.Equal(attempts, fake.Requests.Count);
        Assert.Equal(attempts == 1 ? 400 : 200, (int)response.StatusCode);
        if (attempts == 1)
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal("invalid_request_error", (string?)body["error"]!["type"]);
            Assert.Contains("Scripted failure", (string?)body["error"]!["message"]);
        }
    }

    [Theory]
    [InlineData(429, "RESOURCE_EXHAUSTED", 429, "rate_limit_error")]
    [InlineData(503, "UNAVAILABLE", 529, "overloaded_error")] // Anthropic's own status for overload, not a rate limit
    public async Task With_no_retries_left_the_caller_gets_the_error_in_its_dialect(int upstream, string status, int expected, string type)
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync([.. GeminiProvider(fake), "--Sanjia:Routing:Retry:MaxAttempts=1"]);
        fake.Enqueue(new FakeGeminiReply { Status = upstream, ErrorStatus = status });
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", AnthropicMessagesTests.Json("""{"model":"gem/g","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"""));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(type, (string?)body["error"]!["type"]);
        Assert.Equal(expected, (int)response.StatusCode);
    }

    [Fact]
    public async Task Stream_closed_without_a_finish_reason_is_an_error_not_a_clean_end()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GeminiProvider(fake));
        fake.Enqueue(new FakeGeminiReply { Text = "a b c d", TextChunks = 4, DropMidStream = true });
        using var http = gateway.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = AnthropicMessagesTests.Json("""{"model":"gem/g","stream":true,"input":"x"}"""),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var types = (await Sse.ReadDataAsync(response)).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("type").GetString()).ToList();
        Assert.Equal("response.failed", types[^1]);
        Assert.DoesNotContain("response.completed", types);
    }
}
