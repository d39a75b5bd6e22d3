using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Providers.Local.Tools;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Providers.Local.Tests;

/// <summary>
/// Tools for local models (Hermes/Qwen convention): how tools and tool turns are rendered into the prompt, how
/// generated text is read back as tool calls, and the OpenAI payloads (complete and streamed) built from them.
/// The tiny test model never writes a tool call, so the generated text is scripted here.
/// </summary>
public sealed class LocalToolTests : IDisposable
{
    private const string Weather = """{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""";
    private const string Time = """{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}""";

    private readonly LocalHarness _local = new();

    public void Dispose() => _local.Dispose();

    private static ChatRequestDto Request(string json) => JsonSerializer.Deserialize(json, CoreJsonContext.Default.ChatRequestDto)!;

    private static ToolSet? Tools(ChatRequestDto request)
    {
        var set = ToolSet.From(request.Tools, request.ToolChoice, out var error);
        Assert.Null(error);
        return set;
    }

    private const string Conversation = $$$"""
        {"model":"m","tools":[{{{Weather}}},{{{Time}}}],"messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":"Weather in Paris and Rome?"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"18C sunny"},
          {"role":"tool","tool_call_id":"call_2","content":"22C cloudy"}]}
        """;

    [Fact]
    public void Tools_and_tool_turns_are_rendered_in_the_hermes_convention()
    {
        var request = Request(Conversation);
        var turns = ToolPrompt.Messages(request.Messages, Tools(request));

        Assert.Equal(["system", "user", "assistant", "user"], turns.Select(t => t.Role));
        var system = turns[0].Content;
        Assert.StartsWith("Be brief.\n\n# Tools", system);
        Assert.Contains("You may call one or more functions", system);
        Assert.Contains("<tools>\n", system);
        // Each tool is listed as its JSON definition, schema included.
        var listed = system.Split('\n').Where(l => l.StartsWith("{\"type\":\"function\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, listed.Count);
        using (var doc = JsonDocument.Parse(listed[0]))
        {
            Assert.Equal("get_weather", doc.RootElement.GetProperty("function").GetProperty("name").GetString());
            Assert.Equal("string", doc.RootElement.GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        }
        Assert.Contains("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>", system);

        Assert.Equal(
            "<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}\n</tool_call>\n" +
            "<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Rome\"}}\n</tool_call>", turns[2].Content);
        Assert.Equal("<tool_response>\n18C sunny\n</tool_response>\n<tool_response>\n22C cloudy\n</tool_response>", turns[3].Content);

        // Through a chat template the section lands in the system turn and the results in a user turn.
        var prompt = PromptFormat.Fallback(PromptFormat.ChatMl).Apply(turns);
        Assert.StartsWith("<|im_start|>system\nBe brief.\n\n# Tools", prompt);
        Assert.Contains("<|im_start|>user\n<tool_response>\n18C sunny", prompt);
        Assert.EndsWith("<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Tool_choice_decides_what_is_rendered()
    {
        var none = Request(Conversation.Replace("\"model\":\"m\"", "\"model\":\"m\",\"tool_choice\":\"none\"", StringComparison.Ordinal));
        Assert.Null(Tools(none));
        var turns = ToolPrompt.Messages(none.Messages, null);
        Assert.Equal("Be brief.", turns[0].Content);
        Assert.Contains("<tool_response>", turns[3].Content); // history is still shown to the model

        var noSystem = Request($$"""{"model":"m","tools":[{{Weather}}],"tool_choice":"required","messages":[{"role":"user","content":"hi"}]}""");
        var required = ToolPrompt.Messages(noSystem.Messages, Tools(noSystem));
        Assert.Equal("system", required[0].Role);
        Assert.Contains("You must call one or more functions", required[0].Content);

        var named = Request(Conversation.Replace("\"model\":\"m\"", "\"model\":\"m\",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", StringComparison.Ordinal));
        var set = Tools(named)!;
        Assert.True(set.Forced);
        var section = ToolPrompt.SystemSection(set);
        Assert.Contains("You must call the function \"get_time\"", section);
        Assert.DoesNotContain("\"get_weather\"", section);
    }

    [Theory]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice")]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}""", "tool_choice")]
    public async Task Bad_tools_or_tool_choice_get_400_naming_the_field(string extraJson, string param)
    {
        var body = LocalChatTests.Merge(LocalHarness.Request(), extraJson);
        var outcome = await _local.ChatAsync(body);

        Assert.False(outcome.IsSuccess);
        Assert.Equal(param, outcome.Error!.Param);
        Assert.Contains(param, outcome.Error.Message);
        Assert.Equal(400, ErrorStatus.For(outcome.Error));
    }

    [Fact]
    public void Tool_call_blocks_in_generated_text_become_calls()
    {
        var answer = ToolCallParser.Parse(
            "I will look both up.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n" +
            "<tool_call>{\"name\":\"get_time\",\"arguments\":\"{}\"}</tool_call>", forced: false);

        Assert.Equal("I will look both up.", answer.Content);
        Assert.Equal(["get_weather", "get_time"], answer.Calls.Select(c => c.Name));
        Assert.Equal("Paris", JsonDocument.Parse(answer.Calls[0].Arguments).RootElement.GetProperty("city").GetString());
        Assert.Equal("{}", answer.Calls[1].Arguments);
        Assert.All(answer.Calls, c => Assert.StartsWith("call_", c.Id));
        Assert.NotEqual(answer.Calls[0].Id, answer.Calls[1].Id);

        // Generation that stopped right after the JSON still counts.
        var unclosed = ToolCallParser.Parse("<tool_call>\n{\"name\":\"get_time\",\"arguments\":{}}\n", forced: false);
        Assert.Equal("get_time", Assert.Single(unclosed.Calls).Name);
    }

    [Theory]
    [InlineData("Once upon a time there was a cat.", false)]
    [InlineData("<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": </tool_call>", false)]
    [InlineData("<tool_call>{\"arguments\": {}}</tool_call>", false)]
    [InlineData("<tool_call>{\"name\":\"a\",\"arguments\":{}}</tool_call><tool_call>not json</tool_call>", false)]
    [InlineData("{\"name\":\"get_time\",\"arguments\":{}}", false)] // a bare object is a call only when a tool is forced
    [InlineData("Sure: {\"name\":\"get_time\",\"arguments\":{}}", true)]
    public void Anything_else_stays_text(string generated, bool forced)
    {
        var answer = ToolCallParser.Parse(generated, forced);
        Assert.Empty(answer.Calls);
        Assert.Equal(generated, answer.Content);
    }

    [Fact]
    public void A_forced_tool_accepts_the_whole_answer_as_the_json_call()
    {
        var answer = ToolCallParser.Parse(" {\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}\n", forced: true);
        Assert.Equal("", answer.Content);
        var call = Assert.Single(answer.Calls);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("{\"city\":\"Oslo\"}", call.Arguments);
    }

    [Fact]
    public void The_stream_filter_passes_text_and_holds_back_what_may_be_a_tool_call()
    {
        const string generated = "Let me check <the> weather.<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}\n</tool_call>";
        var filter = new ToolCallStreamFilter(forced: false);
        var streamed = new StringBuilder();
        foreach (var piece in Pieces(generated, 3))
        {
            var emitted = filter.Push(piece);
            Assert.DoesNotContain("<tool", emitted);
            streamed.Append(emitted);
        }
        var end = filter.Complete();
        Assert.Equal("Let me check <the> weather.", streamed.ToString());
        Assert.Equal("", end.Content);
        Assert.Equal("get_weather", Assert.Single(end.Calls).Name);

        // Text that only looks like the start of the tag is released, nothing lost.
        var plain = new ToolCallStreamFilter(forced: false);
        var text = new StringBuilder();
        foreach (var piece in Pieces("a <tool_c is not a call <tool", 2))
        {
            text.Append(plain.Push(piece));
        }
        var rest = plain.Complete();
        Assert.Empty(rest.Calls);
        Assert.Equal("a <tool_c is not a call <tool", text + rest.Content);

        // A forced tool holds everything back until the end.
        var forced = new ToolCallStreamFilter(forced: true);
        Assert.All(Pieces("{\"name\":\"get_time\",\"arguments\":{}}", 4), p => Assert.Equal("", forced.Push(p)));
        Assert.Equal("get_time", Assert.Single(forced.Complete().Calls).Name);
    }

    [Fact]
    public void Tool_calls_are_written_as_openai_stream_deltas_and_completions()
    {
        var calls = ToolCallParser.Parse(
            "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"note\":\"long enough to be split into several fragments ✓\"}}</tool_call>" +
            "<tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>", false).Calls;

        var chunks = ToolCallJson.Chunks("chatcmpl-1", 1, "local/m", calls, includeUsageNull: true).ToList();
        foreach (var chunk in chunks)
        {
            OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", chunk);
        }
        var deltas = chunks.Select(c => JsonDocument.Parse(c).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0]).ToList();
        Assert.True(deltas.Count > 3, "the long arguments come in several fragments");

        // Accumulate as a client does: by index, id+name from the first delta, arguments concatenated.
        var byIndex = deltas.GroupBy(d => d.GetProperty("index").GetInt32()).ToList();
        Assert.Equal(2, byIndex.Count);
        for (var i = 0; i < calls.Count; i++)
        {
            var first = byIndex[i].First();
            Assert.Equal(calls[i].Id, first.GetProperty("id").GetString());
            Assert.Equal("function", first.GetProperty("type").GetString());
            Assert.Equal(calls[i].Name, first.GetProperty("function").GetProperty("name").GetString());
            Assert.All(byIndex[i].Skip(1), d => Assert.False(d.TryGetProperty("id", out _)));
            Assert.Equal(calls[i].Arguments, string.Concat(byIndex[i].Select(d => d.GetProperty("function").GetProperty("arguments").GetString())));
        }

        var body = ToolCallJson.Completion("chatcmpl-1", 1, "local/m", null, calls, new TokenUsage(10, 20));
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", body);
        var choice = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        Assert.Equal(calls[0].Arguments, choice.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public void Streamed_tool_calls_reach_anthropic_clients_as_tool_use_blocks()
    {
        var call = Assert.Single(ToolCallParser.Parse("<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris, the capital of France\"}}</tool_call>", false).Calls);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new Sanjia.Core.Translation.AnthropicStreamWriter(output, "local/m");
        writer.Start(10);
        writer.Chunk(OpenAiChatJson.Chunk("c", 1, "local/m", 0, "assistant", "", null));
        writer.Chunk(OpenAiChatJson.Chunk("c", 1, "local/m", 0, null, "Checking.", null));
        foreach (var chunk in ToolCallJson.Chunks("c", 1, "local/m", [call], false))
        {
            writer.Chunk(chunk);
        }
        writer.Chunk(OpenAiChatJson.Chunk("c", 1, "local/m", 0, null, null, "tool_calls"));
        writer.Finish(new TokenUsage(10, 5));

        var events = Encoding.UTF8.GetString(output.WrittenSpan).Replace("\r\n", "\n", StringComparison.Ordinal)
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(b => b.Split('\n').First(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..])
            .Select(d => JsonDocument.Parse(d).RootElement.Clone()).ToList();
        var toolStart = events.Single(e => e.GetProperty("type").GetString() == "content_block_start"
            && e.GetProperty("content_block").GetProperty("type").GetString() == "tool_use");
        Assert.Equal("get_weather", toolStart.GetProperty("content_block").GetProperty("name").GetString());
        Assert.Equal(call.Id, toolStart.GetProperty("content_block").GetProperty("id").GetString());
        var json = string.Concat(events
            .Where(e => e.GetProperty("type").GetString() == "content_block_delta" && e.GetProperty("delta").GetProperty("type").GetString() == "input_json_delta")
            .Select(e => e.GetProperty("delta").GetProperty("partial_json").GetString()));
        Assert.Equal("Paris, the capital of France", JsonDocument.Parse(json).RootElement.GetProperty("city").GetString());
        Assert.Equal("tool_use", events.Single(e => e.GetProperty("type").GetString() == "message_delta").GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task The_model_answers_with_tools_and_tool_history_in_the_request_streaming_and_not()
    {
        var body = LocalChatTests.Merge(
            Conversation.Replace("\"model\":\"m\"", $"\"model\":\"local/{TestModel.Name}\",\"max_tokens\":8,\"seed\":1,\"stream_options\":{{\"include_usage\":true}}", StringComparison.Ordinal),
            "{}");
        var (json, usage) = await _local.CompleteAsync(body);
        Assert.Contains(LocalHarness.FinishReason(json), new[] { "stop", "length", "tool_calls" });
        Assert.True(usage.Input > 0);

        var plainPrompt = await _local.CompleteAsync(LocalHarness.Request("Weather in Paris and Rome?", new() { ["max_tokens"] = 1 }));
        Assert.True(usage.Input > plainPrompt.Usage.Input + 50, "the tool definitions and history are part of the prompt");

        var streamBody = body.Replace("\"model\":", "\"stream\":true,\"model\":", StringComparison.Ordinal);
        var (chunks, streamUsage) = await LocalHarness.ReadAllAsync(await _local.StreamAsync(streamBody));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var finish = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("finish_reason"))
            .Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()).ToList();
        Assert.Contains(Assert.Single(finish), new[] { "stop", "length", "tool_calls" });
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.Equal(usage.Input, streamUsage.Input);
        foreach (var chunk in chunks)
        {
            OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", Encoding.UTF8.GetBytes(chunk.GetRawText()));
        }
    }

    private static IEnumerable<string> Pieces(string text, int size)
    {
        for (var i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }
}
