using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Abstractions;
using Sanjia.Core.Translation;

namespace Sanjia.Core.Tests.Translation;

/// <summary>Golden tables: Anthropic Messages ⇄ OpenAI Chat Completions, requests, responses and streams.</summary>
public sealed class AnthropicTranslationTests
{
    public static TheoryData<string, string, string> Requests => new()
    {
        {
            "system string, text turn, sampling",
            """{"model":"m","max_tokens":10,"system":"Be brief.","temperature":0.5,"top_p":0.9,"top_k":40,"stop_sequences":["END"],"metadata":{"user_id":"u1"},"messages":[{"role":"user","content":"Hi"}]}""",
            """{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":10,"temperature":0.5,"top_p":0.9,"top_k":40,"stop":["END"],"user":"u1"}"""
        },
        {
            "system blocks keep cache_control; images base64 and url",
            """{"model":"m","max_tokens":5,"system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}""",
            """{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}],"max_tokens":5}"""
        },
        {
            "tools, named tool_choice, no parallel calls, streaming asks for usage",
            """{"model":"m","max_tokens":5,"stream":true,"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"x"}]}""",
            """{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"stream":true,"stream_options":{"include_usage":true},"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false}"""
        },
        {
            "tool_choice any → required, none → none",
            """{"model":"m","max_tokens":5,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"x"}]}""",
            """{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required"}"""
        },
        {
            "thinking, parallel tool_use and tool_results (error flagged) round trip",
            """{"model":"m","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig=="},{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"a","input":{"x":1}},{"type":"tool_use","id":"toolu_2","name":"b","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"one"},{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"bad"}],"is_error":true},{"type":"text","text":"continue"}]}]}""",
            """{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Let me check.","reasoning_content":"hmm","thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"sig=="}],"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"toolu_2","type":"function","function":{"name":"b","arguments":"{}"}}]},{"role":"tool","tool_call_id":"toolu_1","content":"one"},{"role":"tool","tool_call_id":"toolu_2","content":"Error: bad"},{"role":"user","content":[{"type":"text","text":"continue"}]}],"max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024}}"""
        },
        {
            "redacted thinking and structured output",
            """{"model":"m","max_tokens":5,"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"EnCr"},{"type":"text","text":"ok"}]},{"role":"user","content":"more"}]}""",
            """{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"ok","thinking_blocks":[{"type":"redacted_thinking","data":"EnCr"}]},{"role":"user","content":"more"}],"max_tokens":5,"response_format":{"type":"json_schema","json_schema":{"name":"output","schema":{"type":"object"},"strict":true}}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Anthropic_request_translates_to_OpenAI(string name, string anthropic, string openAi)
    {
        var result = AnthropicToOpenAiRequest.Translate(Encoding.UTF8.GetBytes(anthropic));
        Assert.True(result.Error is null, $"{name}: {result.Error?.Message}");
        AssertJson(openAi, Encoding.UTF8.GetString(result.Body!), name);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[]}""", "max_tokens")]
    [InlineData("""{"max_tokens":1,"messages":[]}""", "model")]
    [InlineData("""{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}""", "messages.0.role")]
    [InlineData("""{"model":"m","max_tokens":1,"betas":["x"],"messages":[]}""", "betas")]
    [InlineData("""{"model":"m","max_tokens":1,"temperature":1.5,"messages":[]}""", "temperature")]
    [InlineData("""{"model":"m","max_tokens":1,"tools":[{"type":"bash_20250124","name":"bash"}],"messages":[]}""", "tools.0.type")]
    [InlineData("""{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"search_result","text":"x"}]}]}""", "messages.0.content.0.type")]
    public void Requests_the_translation_cannot_honour_are_refused_naming_the_field(string anthropic, string param)
    {
        var result = AnthropicToOpenAiRequest.Translate(Encoding.UTF8.GetBytes(anthropic));
        Assert.NotNull(result.Error);
        Assert.Equal(GatewayErrorKind.InvalidRequest, result.Error.Kind);
        Assert.Equal(param, result.Error.Param);
    }

    [Fact]
    public void Drop_params_lets_unsupported_fields_and_server_tools_through_silently()
    {
        var result = AnthropicToOpenAiRequest.Translate("""{"model":"m","max_tokens":1,"drop_params":true,"betas":["x"],"tools":[{"type":"bash_20250124","name":"bash"}],"messages":[{"role":"user","content":"x"}]}"""u8);
        Assert.Null(result.Error);
        AssertJson("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1}""", Encoding.UTF8.GetString(result.Body!), "drop");
    }

    public static TheoryData<string, string, string> Responses => new()
    {
        {
            "text with cached usage",
            """{"id":"c","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":5,"total_tokens":105,"prompt_tokens_details":{"cached_tokens":60,"cache_creation_tokens":30}}}""",
            """{"type":"message","role":"assistant","model":"asked","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":30,"cache_read_input_tokens":60,"output_tokens":5}}"""
        },
        {
            "thinking with signature, text and two tool calls",
            """{"choices":[{"index":0,"message":{"role":"assistant","content":"Checking","reasoning_content":"think","thinking_blocks":[{"type":"thinking","thinking":"think","signature":"S1"}],"tool_calls":[{"id":"call_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"call_2","type":"function","function":{"name":"b","arguments":"not json"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":7,"completion_tokens":3}}""",
            """{"type":"message","role":"assistant","model":"asked","content":[{"type":"thinking","thinking":"think","signature":"S1"},{"type":"text","text":"Checking"},{"type":"tool_use","id":"call_1","name":"a","input":{"x":1}},{"type":"tool_use","id":"call_2","name":"b","input":{"arguments":"not json"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}"""
        },
        {
            "reasoning_content without signature (DeepSeek), length stop",
            """{"choices":[{"index":0,"message":{"role":"assistant","content":"x","reasoning_content":"r"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}""",
            """{"type":"message","role":"assistant","model":"asked","content":[{"type":"thinking","thinking":"r","signature":""},{"type":"text","text":"x"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public void OpenAI_completion_translates_to_an_Anthropic_message(string name, string openAi, string anthropic)
    {
        var (body, error) = OpenAiToAnthropicResponse.Translate(Encoding.UTF8.GetBytes(openAi), "asked", default);
        Assert.Null(error);
        var node = JsonNode.Parse(body)!.AsObject();
        Assert.StartsWith("msg_", node["id"]!.GetValue<string>());
        node.Remove("id");
        AssertJson(anthropic, node.ToJsonString(), name);
    }

    [Fact]
    public void Stream_of_thinking_text_and_a_tool_call_split_over_many_chunks_becomes_Anthropics_event_sequence()
    {
        var args = """{"city":"Paris","days":[1,2,3]}""";
        var chunks = new List<string>
        {
            """{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"reasoning_content":"Let me "},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"reasoning_content":"think."},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","signature":"SIG"}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"content":"Sure."},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}]}""",
        };
        // The arguments in one-character pieces.
        chunks.AddRange(args.Select(c => $$$"""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":{{{JsonSerializer.Serialize(c.ToString())}}}}}]},"finish_reason":null}]}"""));
        chunks.Add("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"time","arguments":"{}"}}]},"finish_reason":null}]}""");
        chunks.Add("""{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""");
        chunks.Add("""{"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9}}""");

        var events = Run(chunks, finish: true);

        var names = events.Select(e => e.Name).ToList();
        var expected = new List<string> { "message_start", "ping",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", // thinking
            "content_block_start", "content_block_delta", "content_block_stop", // text
            "content_block_start" };
        expected.AddRange(Enumerable.Repeat("content_block_delta", args.Length));
        expected.AddRange(["content_block_stop", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
        Assert.Equal(expected, names);

        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1, 2], events.Skip(2).Take(9).Select(e => e.Data.GetProperty("index").GetInt32()));
        Assert.Equal("SIG", events[5].Data.GetProperty("delta").GetProperty("signature").GetString());
        var toolStart = events[10].Data.GetProperty("content_block");
        Assert.Equal("tool_use", toolStart.GetProperty("type").GetString());
        Assert.Equal("call_A", toolStart.GetProperty("id").GetString());
        var json = string.Concat(events.Where(e => e.Name == "content_block_delta" && e.Data.GetProperty("index").GetInt32() == 2)
            .Select(e => e.Data.GetProperty("delta").GetProperty("partial_json").GetString()));
        Assert.Equal(args, json);
        var delta = events[^2].Data;
        Assert.Equal("tool_use", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(9, delta.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(20, delta.GetProperty("usage").GetProperty("input_tokens").GetInt32());
    }

    [Fact]
    public void Error_after_content_is_an_error_event_without_message_stop()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new AnthropicStreamWriter(output, "m");
        writer.Start(3);
        writer.Chunk("""{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"""u8);
        writer.Error(new GatewayError(GatewayErrorKind.Overloaded, "busy"));
        var events = Parse(output);
        Assert.Equal(["message_start", "ping", "content_block_start", "content_block_delta", "error"], events.Select(e => e.Name));
        Assert.Equal("overloaded_error", events[^1].Data.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public void Empty_stream_still_closes_properly_with_estimated_usage()
    {
        var events = Run([], finish: true, usage: new TokenUsage(5, 0, Estimated: true));
        Assert.Equal(["message_start", "ping", "message_delta", "message_stop"], events.Select(e => e.Name));
        Assert.Equal("end_turn", events[2].Data.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    private static List<(string Name, JsonElement Data)> Run(IEnumerable<string> chunks, bool finish, TokenUsage usage = default)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new AnthropicStreamWriter(output, "m");
        writer.Start(1);
        foreach (var c in chunks) writer.Chunk(Encoding.UTF8.GetBytes(c));
        if (finish) writer.Finish(usage);
        return Parse(output);
    }

    private static List<(string Name, JsonElement Data)> Parse(ArrayBufferWriter<byte> output)
    {
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        var list = new List<(string, JsonElement)>();
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            Assert.StartsWith("event: ", lines[0]);
            Assert.StartsWith("data: ", lines[1]);
            var data = JsonDocument.Parse(lines[1][6..]).RootElement;
            Assert.Equal(lines[0][7..], data.GetProperty("type").GetString());
            list.Add((lines[0][7..], data));
        }
        return list;
    }

    internal static void AssertJson(string expected, string actual, string name) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"{name}\nexpected: {expected}\nactual:   {actual}");
}
