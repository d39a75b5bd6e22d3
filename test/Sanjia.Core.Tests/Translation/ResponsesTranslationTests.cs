using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Abstractions;
using Sanjia.Core.Translation;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Core.Tests.Translation;

/// <summary>Golden tables: OpenAI Responses ⇄ OpenAI Chat Completions, requests, responses and streams.</summary>
public sealed class ResponsesTranslationTests
{
    private static readonly string Thinking = ResponsesJson.EncodeThinking([new OpenAiThinkingBlock { Type = "thinking", Thinking = "hmm", Signature = "SIG" }]);

    public static TheoryData<string, string, string> Requests => new()
    {
        {
            "string input, instructions, sampling, token limit, user, reasoning effort",
            """{"model":"m","input":"Hi","instructions":"Be brief.","temperature":0.5,"top_p":0.9,"max_output_tokens":20,"user":"u1","reasoning":{"effort":"low"},"store":false}""",
            """{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":20,"temperature":0.5,"top_p":0.9,"user":"u1","reasoning_effort":"low"}"""
        },
        {
            "message items with text and images (URL and base64), developer role, json_schema, streaming asks for usage",
            """{"model":"m","stream":true,"input":[{"role":"developer","content":"Rules"},{"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"https://x/y.png","detail":"low"},{"type":"input_image","image_url":"data:image/png;base64,iVBOR"}]}],"text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}}}""",
            """{"model":"m","messages":[{"role":"developer","content":"Rules"},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]}],"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},"strict":true}}}"""
        },
        {
            "function tools, named tool_choice, no parallel calls; reasoning + message + two calls form one assistant turn; outputs become tool messages",
            $$"""{"model":"m","tools":[{"type":"function","name":"a","description":"d","parameters":{"type":"object"},"strict":true},{"type":"function","name":"b"}],"tool_choice":{"type":"function","name":"a"},"parallel_tool_calls":false,"input":[{"role":"user","content":"q"},{"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"hmm"}],"encrypted_content":"{{Thinking}}"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking."}]},{"type":"function_call","call_id":"call_1","name":"a","arguments":"{\"x\":1}"},{"type":"function_call","call_id":"call_2","name":"b","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"one"},{"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"two"}]},{"role":"user","content":"go on"}]}""",
            """{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Checking.","reasoning_content":"hmm","thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"SIG"}],"tool_calls":[{"id":"call_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"one"},{"role":"tool","tool_call_id":"call_2","content":"two"},{"role":"user","content":"go on"}],"tools":[{"type":"function","function":{"name":"a","description":"d","parameters":{"type":"object"},"strict":true}},{"type":"function","function":{"name":"b","parameters":{"type":"object","properties":{}}}}],"tool_choice":{"type":"function","function":{"name":"a"}},"parallel_tool_calls":false}"""
        },
        {
            "json_object format, tool_choice required, reasoning from another vendor (summary only, foreign encrypted_content ignored)",
            """{"model":"m","text":{"format":{"type":"json_object"}},"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"tool_choice":"required","input":[{"role":"user","content":"q"},{"type":"reasoning","id":"rs_x","summary":[{"type":"summary_text","text":"thought"}],"encrypted_content":"gAAAAB-openai-own"},{"role":"assistant","content":"a"},{"role":"user","content":"b"}]}""",
            """{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","reasoning_content":"thought"},{"role":"user","content":"b"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required","response_format":{"type":"json_object"}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Responses_request_translates_to_chat(string name, string responses, string chat)
    {
        var result = ResponsesToOpenAiRequest.Translate(Encoding.UTF8.GetBytes(responses));
        Assert.True(result.Error is null, $"{name}: {result.Error?.Message}");
        AnthropicTranslationTests.AssertJson(chat, Encoding.UTF8.GetString(result.Body!), name);
    }

    [Theory]
    [InlineData("""{"input":"x"}""", "model")]
    [InlineData("""{"model":"m"}""", "input")]
    [InlineData("""{"model":"m","input":"x","store":true}""", "store")]
    [InlineData("""{"model":"m","input":"x","previous_response_id":"resp_1"}""", "previous_response_id")]
    [InlineData("""{"model":"m","input":"x","previous_response_id":"resp_1","drop_params":true}""", "previous_response_id")]
    [InlineData("""{"model":"m","input":"x","conversation":"conv_1"}""", "conversation")]
    [InlineData("""{"model":"m","input":"x","background":true}""", "background")]
    [InlineData("""{"model":"m","input":"x","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"model":"m","input":"x","tool_choice":{"type":"web_search_preview"}}""", "tool_choice")]
    [InlineData("""{"model":"m","input":"x","prompt":{"id":"p"}}""", "prompt")]
    [InlineData("""{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type")]
    [InlineData("""{"model":"m","input":[{"type":"web_search_call","id":"ws_1"}]}""", "input[0].type")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}""", "input[0].content[0].file_id")]
    [InlineData("""{"model":"m","input":[{"role":"tool","content":"x"}]}""", "input[0].role")]
    [InlineData("""{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"a"}}}""", "text.format.schema")]
    [InlineData("""{"model":"m","input":"x","max_output_tokens":0}""", "max_output_tokens")]
    public void Requests_the_gateway_cannot_honour_are_refused_naming_the_field(string responses, string param)
    {
        var result = ResponsesToOpenAiRequest.Translate(Encoding.UTF8.GetBytes(responses));
        Assert.NotNull(result.Error);
        Assert.Equal(GatewayErrorKind.InvalidRequest, result.Error.Kind);
        Assert.Equal(param, result.Error.Param);
        Assert.Contains(param.Split('[', '.')[0], result.Error.Message);
    }

    [Fact]
    public void Drop_params_drops_built_in_tools_store_and_unknown_fields()
    {
        var result = ResponsesToOpenAiRequest.Translate("""{"model":"m","input":"x","drop_params":true,"store":true,"prompt":{"id":"p"},"tools":[{"type":"web_search"},{"type":"function","name":"f","parameters":{"type":"object"}}],"tool_choice":{"type":"file_search"}}"""u8);
        Assert.Null(result.Error);
        AnthropicTranslationTests.AssertJson("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}""",
            Encoding.UTF8.GetString(result.Body!), "drop");
    }

    public static TheoryData<string, string, string> Completions => new()
    {
        {
            "plain text with cached and reasoning usage",
            """{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":6},"completion_tokens_details":{"reasoning_tokens":1}}}""",
            """{"status":"completed","incomplete_details":null,"output":[{"type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello","annotations":[],"logprobs":[]}]}],"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":6,"cache_write_tokens":0},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":14}}"""
        },
        {
            "thinking, text and two tool calls",
            """{"choices":[{"index":0,"message":{"role":"assistant","content":"Checking","reasoning_content":"think","thinking_blocks":[{"type":"thinking","thinking":"think","signature":"S1"}],"tool_calls":[{"id":"call_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":7,"completion_tokens":3}}""",
            $$$"""{"status":"completed","incomplete_details":null,"output":[{"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"think"}],"encrypted_content":"{{{ResponsesJson.EncodeThinking([new OpenAiThinkingBlock { Type = "thinking", Thinking = "think", Signature = "S1" }])}}}","status":"completed"},{"type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Checking","annotations":[],"logprobs":[]}]},{"type":"function_call","call_id":"call_1","name":"a","arguments":"{\"x\":1}","status":"completed"},{"type":"function_call","call_id":"call_2","name":"b","arguments":"{}","status":"completed"}],"usage":{"input_tokens":7,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":10}}"""
        },
        {
            "truncated answer is incomplete; refusal becomes a refusal part",
            """{"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"No."},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}""",
            """{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"No."}]}],"usage":{"input_tokens":1,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":2}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Completions))]
    public void Chat_completion_translates_to_a_response_object_valid_against_the_spec(string name, string completion, string expected)
    {
        var envelope = Envelope("""{"model":"alias","input":"x","tools":[{"type":"function","name":"a","parameters":{"type":"object"}}],"metadata":{"k":"v"}}""");
        var (body, error) = OpenAiToResponsesResponse.Translate(Encoding.UTF8.GetBytes(completion), envelope, default, 1_700_000_001);
        Assert.Null(error);
        OpenApiSpec.AssertValid("Response", body!);
        var node = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(envelope.Id, (string?)node["id"]);
        Assert.Equal("response", (string?)node["object"]);
        Assert.Equal("alias", (string?)node["model"]);
        Assert.Equal("v", (string?)node["metadata"]!["k"]);
        Assert.Equal("a", (string?)node["tools"]![0]!["name"]);
        var actual = new JsonObject
        {
            ["status"] = node["status"]!.DeepClone(),
            ["incomplete_details"] = node["incomplete_details"]?.DeepClone(),
            ["output"] = node["output"]!.DeepClone(),
            ["usage"] = node["usage"]!.DeepClone(),
        };
        foreach (var item in actual["output"]!.AsArray()) item!.AsObject().Remove("id");
        AnthropicTranslationTests.AssertJson(expected, actual.ToJsonString(), name);
    }

    [Fact]
    public void Stream_of_thinking_text_and_tool_calls_split_over_many_chunks_becomes_the_documented_event_sequence()
    {
        var args = """{"city":"Paris","days":[1,2,3]}""";
        var chunks = new List<string>
        {
            """{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"reasoning_content":"Let me "},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"reasoning_content":"think."},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","signature":"SIG"}]},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"content":"Sure"},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"content":"."},"finish_reason":null}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}]}""",
        };
        chunks.AddRange(args.Select(c => $$$"""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":{{{JsonSerializer.Serialize(c.ToString())}}}}}]},"finish_reason":null}]}"""));
        chunks.Add("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"time","arguments":"{}"}}]},"finish_reason":null}]}""");
        chunks.Add("""{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""");
        chunks.Add("""{"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9}}""");

        var events = Run(chunks, w => w.Finish(default, 1_700_000_002));

        var expected = new List<string>
        {
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta", "response.reasoning_text.delta",
            "response.reasoning_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added",
        };
        expected.AddRange(Enumerable.Repeat("response.function_call_arguments.delta", args.Length));
        expected.AddRange(["response.function_call_arguments.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
            "response.completed"]);
        Assert.Equal(expected, events.Select(e => e.Name));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data.GetProperty("sequence_number").GetInt32()));
        foreach (var (name, data) in events) OpenApiSpec.AssertValid(ResponsesEventSchemas.For(name), data.GetRawText());

        var argsDone = events.First(e => e.Name == "response.function_call_arguments.done").Data;
        Assert.Equal(args, argsDone.GetProperty("arguments").GetString());
        Assert.Equal("weather", argsDone.GetProperty("name").GetString());
        Assert.Equal(2, argsDone.GetProperty("output_index").GetInt32());

        var final = events[^1].Data.GetProperty("response");
        Assert.Equal("completed", final.GetProperty("status").GetString());
        var output = final.GetProperty("output");
        Assert.Equal(["reasoning", "message", "function_call", "function_call"], output.EnumerateArray().Select(i => i.GetProperty("type").GetString()));
        Assert.Equal("Sure.", output[1].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("call_A", output[2].GetProperty("call_id").GetString());
        Assert.Equal("call_B", output[3].GetProperty("call_id").GetString());
        Assert.Equal(20, final.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        // The signed block is handed back whole (text + signature) so the next turn can return it to its vendor.
        var thinking = ResponsesJson.DecodeThinking(output[0].GetProperty("encrypted_content").GetString())!;
        Assert.Equal("Let me think.", thinking.Single().Thinking);
        Assert.Equal("SIG", thinking.Single().Signature);
    }

    [Fact]
    public void Failure_mid_stream_is_response_failed_with_the_partial_output_and_never_completed()
    {
        var events = Run(["""{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"""],
            w => w.Fail(new GatewayError(GatewayErrorKind.Overloaded, "busy")));
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.failed"],
            events.Select(e => e.Name));
        OpenApiSpec.AssertValid("ResponseFailedEvent", events[^1].Data.GetRawText());
        var response = events[^1].Data.GetProperty("response");
        Assert.Equal("failed", response.GetProperty("status").GetString());
        Assert.Equal("busy", response.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("rate_limit_exceeded", response.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public void Truncated_stream_ends_with_response_incomplete()
    {
        var events = Run(["""{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"length"}]}"""], w => w.Finish(new TokenUsage(3, 1), 1));
        Assert.Equal("response.incomplete", events[^1].Name);
        OpenApiSpec.AssertValid("ResponseIncompleteEvent", events[^1].Data.GetRawText());
        Assert.Equal("max_output_tokens", events[^1].Data.GetProperty("response").GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(3, events[^1].Data.GetProperty("response").GetProperty("usage").GetProperty("input_tokens").GetInt32());
    }

    private static ResponsesEnvelope Envelope(string request) =>
        new(ResponsesJson.NewResponseId(), 1_700_000_000, "alias", JsonSerializer.Deserialize(request, ResponsesJsonContext.Default.ResponsesRequest)!);

    private static List<(string Name, JsonElement Data)> Run(IEnumerable<string> chunks, Action<ResponsesStreamWriter> end)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new ResponsesStreamWriter(output, Envelope("""{"model":"alias","input":"x"}"""));
        writer.Start();
        foreach (var c in chunks) writer.Chunk(Encoding.UTF8.GetBytes(c));
        end(writer);
        var list = new List<(string, JsonElement)>();
        foreach (var block in Encoding.UTF8.GetString(output.WrittenSpan).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            Assert.StartsWith("event: ", lines[0]);
            var data = JsonDocument.Parse(lines[1][6..]).RootElement;
            Assert.Equal(lines[0][7..], data.GetProperty("type").GetString());
            list.Add((lines[0][7..], data));
        }
        return list;
    }
}
