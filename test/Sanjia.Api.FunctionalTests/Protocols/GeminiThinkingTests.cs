using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeGemini;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>
/// Thinking on a Gemini backend: Anthropic's <c>thinking</c> maps to <c>thinkingConfig</c>, and the thought signature
/// Gemini puts on a text answer comes back on it in the next turn (streamed or not), without reaching Anthropic.
/// </summary>
public sealed class GeminiThinkingTests
{
    private static string[] Gemini(FakeGeminiServer fake) => GatewayServer.Provider("gem", fake.BaseUrl, fake.ApiKey, type: "gemini");

    private static async Task<JsonNode> PostAsync(HttpClient http, string path, string json)
    {
        using var response = await http.PostAsync(path, AnthropicMessagesTests.Json(json));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }

    [Theory]
    [InlineData("""{"type":"enabled","budget_tokens":2048}""", 2048)]
    [InlineData("""{"type":"enabled","budget_tokens":60000}""", 24576)] // capped at what every 2.5 model accepts
    [InlineData("""{"type":"adaptive"}""", -1)] // Gemini's dynamic budget
    [InlineData("""{"type":"disabled"}""", null)]
    public async Task Anthropic_thinking_maps_to_Gemini_thinking_config(string thinking, int? budget)
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(Gemini(fake));
        fake.Enqueue(new FakeGeminiReply { Thought = "Let me think.", Text = "42" });
        using var http = gateway.CreateHttpClient();

        var message = await PostAsync(http, "v1/messages", $$"""
            {"model":"gem/gemini-2.5-flash","max_tokens":100000,"thinking":{{thinking}},"messages":[{"role":"user","content":"Answer?"}]}
            """);

        Assert.Equal("42", (string?)message["content"]!.AsArray().Single(b => (string?)b!["type"] == "text")!["text"]);
        var sent = fake.Requests.Single();
        Assert.True(sent.Status == 200, sent.Error);
        var config = JsonNode.Parse(sent.Body)!["generationConfig"]!["thinkingConfig"];
        if (budget is null)
        {
            Assert.Null(config);
            return;
        }
        Assert.Equal(budget, (int)config!["thinkingBudget"]!);
        Assert.True((bool)config["includeThoughts"]!);
        Assert.Equal("Let me think.", (string?)message["content"]![0]!["thinking"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_text_answers_thought_signature_goes_back_on_the_text_and_never_to_Anthropic(bool stream)
    {
        await using var gemini = await FakeGeminiServer.StartAsync();
        await using var anthropic = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(
            [.. Gemini(gemini), .. GatewayServer.Provider("claude", anthropic.BaseUrl, anthropic.ApiKey, type: "anthropic")]);
        gemini.Enqueue(new FakeGeminiReply { Thought = "Thinking about it.", Text = "Paris is the capital.", SignText = true }, new FakeGeminiReply { Text = "Yes." });
        using var http = gateway.CreateHttpClient();
        var history = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "Capital of France?" } };

        // Turn 1 on Gemini; the client keeps content and thinking_blocks (each block whole, as documented).
        JsonObject assistant;
        var request = new JsonObject { ["model"] = "gem/gemini-2.5-flash", ["reasoning_effort"] = "low", ["messages"] = history.DeepClone(), ["stream"] = stream };
        if (stream)
        {
            using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(request.ToJsonString()));
            var content = "";
            var blocks = new JsonArray();
            foreach (var data in (await Sse.ReadDataAsync(response)).Where(d => d != "[DONE]"))
            {
                var delta = JsonNode.Parse(data)!["choices"]?.AsArray().FirstOrDefault()?["delta"];
                content += (string?)delta?["content"];
                foreach (var b in delta?["thinking_blocks"]?.AsArray() ?? []) blocks.Add(b!.DeepClone());
            }
            assistant = new JsonObject { ["role"] = "assistant", ["content"] = content, ["thinking_blocks"] = blocks };
        }
        else
        {
            var body = await PostAsync(http, "v1/chat/completions", request.ToJsonString());
            assistant = body["choices"]![0]!["message"]!.DeepClone().AsObject();
        }
        Assert.Equal("Paris is the capital.", (string?)assistant["content"]);
        history.Add(assistant);
        history.Add(new JsonObject { ["role"] = "user", ["content"] = "Sure?" });

        // Turn 2 on Gemini: the signature is back on the text part it came with.
        await PostAsync(http, "v1/chat/completions", new JsonObject { ["model"] = "gem/gemini-2.5-flash", ["messages"] = history.DeepClone() }.ToJsonString());
        var sent = gemini.Requests[1];
        Assert.True(sent.Status == 200, sent.Error);
        var modelTurn = JsonNode.Parse(sent.Body)!["contents"]![1]!;
        Assert.Equal("model", (string?)modelTurn["role"]);
        var part = modelTurn["parts"]!.AsArray().Single()!;
        Assert.Equal("Paris is the capital.", (string?)part["text"]);
        Assert.Equal(gemini.TextSignatures.Single(), (string?)part["thoughtSignature"]);

        // The same history on Anthropic: the Gemini signature is not sent as a thinking block (Anthropic would refuse it).
        await PostAsync(http, "v1/chat/completions", new JsonObject { ["model"] = "claude/claude-sonnet-4-5", ["max_tokens"] = 100, ["messages"] = history }.ToJsonString());
        var toClaude = anthropic.Requests.Single();
        Assert.True(toClaude.Status == 200, toClaude.Error);
        Assert.DoesNotContain("thinking", toClaude.Body, StringComparison.Ordinal);
    }
}
