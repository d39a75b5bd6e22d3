using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Core.Translation;

namespace Sanjia.Core.Tests.Translation;

/// <summary>Golden tables: OpenAI Chat Completions ⇄ Gemini generateContent, requests, responses and streams.</summary>
public sealed class GeminiTranslationTests
{
    private static readonly string SignedId = GeminiJson.ToolCallId("call_1", "c2ln+/=");

    public static TheoryData<string, string, string> Requests => new()
    {
        {
            "system, text, sampling and limits",
            """{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"temperature":0.5,"top_p":0.9,"top_k":40,"max_tokens":20,"stop":"END","n":2,"seed":7}""",
            """{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"temperature":0.5,"topP":0.9,"topK":40,"maxOutputTokens":20,"candidateCount":2,"seed":7,"stopSequences":["END"]}}"""
        },
        {
            "images inline (base64) and by URL, JSON schema output",
            """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw=="}},{"type":"image_url","image_url":{"url":"https://x/y.webp"}}]}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object"}}}}""",
            """{"contents":[{"role":"user","parts":[{"text":"look"},{"inlineData":{"mimeType":"image/png","data":"iVBORw=="}},{"fileData":{"mimeType":"image/webp","fileUri":"https://x/y.webp"}}]}],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"object"}}}"""
        },
        {
            "tools, named tool_choice, parallel calls with a thought signature, results merged into one user turn",
            $$$$"""{"model":"m","tools":[{"type":"function","function":{"name":"a","description":"d","parameters":{"type":"object"}}},{"type":"function","function":{"name":"b","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"a"}},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"reasoning_content":"hmm","tool_calls":[{"id":"{{{{SignedId}}}}","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]},{"role":"tool","tool_call_id":"{{{{SignedId}}}}","content":"{\"t\":20}"},{"role":"tool","tool_call_id":"call_2","content":"plain"}]}""",
            """{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"functionCall":{"name":"a","args":{"x":1}},"thoughtSignature":"c2ln+/="},{"functionCall":{"name":"b","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"a","response":{"t":20}}},{"functionResponse":{"name":"b","response":{"result":"plain"}}}]}],"tools":[{"functionDeclarations":[{"name":"a","description":"d","parametersJsonSchema":{"type":"object"}},{"name":"b","parametersJsonSchema":{"type":"object"}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["a"]}},"generationConfig":{}}"""
        },
        {
            "unsigned calls (from another model) get Google's documented skip placeholder on the step's first call only",
            """{"model":"m","tools":[{"type":"function","function":{"name":"a"}}],"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Let me look.","tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"a","arguments":"{}"}},{"id":"toolu_2","type":"function","function":{"name":"a","arguments":"{\"y\":2}"}}]},{"role":"tool","tool_call_id":"toolu_1","content":"1"},{"role":"tool","tool_call_id":"toolu_2","content":"2"}]}""",
            """{"contents":[{"role":"user","parts":[{"text":"q"}]},{"role":"model","parts":[{"text":"Let me look."},{"functionCall":{"id":"toolu_1","name":"a","args":{}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"id":"toolu_2","name":"a","args":{"y":2}}}]},{"role":"user","parts":[{"functionResponse":{"id":"toolu_1","name":"a","response":{"result":"1"}}},{"functionResponse":{"id":"toolu_2","name":"a","response":{"result":"2"}}}]}],"tools":[{"functionDeclarations":[{"name":"a"}]}],"generationConfig":{}}"""
        },
        {
            "safety_settings extension field → safetySettings as given",
            """{"model":"m","messages":[{"role":"user","content":"x"}],"safety_settings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_ONLY_HIGH"},{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","threshold":"OFF"}]}""",
            """{"contents":[{"role":"user","parts":[{"text":"x"}]}],"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_ONLY_HIGH"},{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","threshold":"OFF"}],"generationConfig":{}}"""
        },
        {
            "tool_choice required → ANY, none → NONE; json_object; reasoning effort → thinking budget",
            """{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","response_format":{"type":"json_object"},"reasoning_effort":"low"}""",
            """{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}},"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void OpenAI_request_translates_to_Gemini(string name, string openAi, string gemini)
    {
        var result = OpenAiToGeminiRequest.Translate(Encoding.UTF8.GetBytes(openAi), "g (Gemini)", dropUnsupported: false);
        Assert.True(result.Error is null, $"{name}: {result.Error?.Message}");
        AnthropicTranslationTests.AssertJson(gemini, Encoding.UTF8.GetString(result.Body!), name);
    }

    [Fact]
    public void Unsupported_parameters_are_refused_naming_them_unless_dropped()
    {
        var refused = OpenAiToGeminiRequest.Translate("""{"model":"m","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":1}}"""u8, "g (Gemini)", false);
        Assert.Equal("logit_bias", refused.Error?.Param);
        Assert.Null(OpenAiToGeminiRequest.Translate("""{"model":"m","messages":[{"role":"user","content":"x"}],"logit_bias":{"1":1}}"""u8, "g (Gemini)", true).Error);
        var orphan = OpenAiToGeminiRequest.Translate("""{"model":"m","messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]}"""u8, "g", false);
        Assert.Equal("messages[0].tool_call_id", orphan.Error?.Param);
    }

    [Theory]
    [InlineData("""{"category":"HARM_CATEGORY_HARASSMENT"}""", "safety_settings[0]")]
    [InlineData("""{"category":"x","threshold":"y"}, 3""", "safety_settings[1]")]
    public void Malformed_safety_settings_are_refused_naming_the_entry(string items, string param)
    {
        var result = OpenAiToGeminiRequest.Translate(Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"x"}],"safety_settings":[{{items}}]}"""), "g", false);
        Assert.Equal(param, result.Error?.Param);
        var notArray = OpenAiToGeminiRequest.Translate("""{"model":"m","messages":[{"role":"user","content":"x"}],"safety_settings":{"a":1}}"""u8, "g", false);
        Assert.Equal("safety_settings", notArray.Error?.Param);
    }

    [Fact]
    public void Thought_signature_survives_the_tool_call_id_round_trip()
    {
        var id = GeminiJson.ToolCallId("fc-7", "AbC+/==sig");
        Assert.Matches("^[A-Za-z0-9_-]+$", id); // accepted as an Anthropic tool_use id too
        Assert.Equal(("fc-7", "AbC+/==sig"), GeminiJson.SplitToolCallId(id));
        Assert.Equal(("call_x", null), GeminiJson.SplitToolCallId("call_x"));
    }

    public static TheoryData<string, string, string> Responses => new()
    {
        {
            "text with thoughts and usage (thoughts count as completion, cached as cached)",
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"think","thought":true},{"text":"Hel"},{"text":"lo"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":4,"cachedContentTokenCount":6,"thoughtsTokenCount":3}}""",
            """{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello","refusal":null,"reasoning_content":"think"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":7,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":6,"cache_creation_tokens":0},"completion_tokens_details":{"reasoning_tokens":3}}}"""
        },
        {
            "function calls → tool_calls with the signature in the id",
            """{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"a","args":{"x":1}},"thoughtSignature":"c2ln+/="}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}""",
            "TOOLS"
        },
        {
            "MAX_TOKENS → length, SAFETY → content_filter",
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"a"}]},"finishReason":"MAX_TOKENS"},{"content":{"role":"model","parts":[]},"finishReason":"SAFETY","index":1}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}""",
            """{"choices":[{"index":0,"message":{"role":"assistant","content":"a","refusal":null},"logprobs":null,"finish_reason":"length"},{"index":1,"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"content_filter"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"prompt_tokens_details":{"cached_tokens":0,"cache_creation_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"""
        },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public void Gemini_response_translates_to_an_OpenAI_completion(string name, string gemini, string openAi)
    {
        var (body, usage, error) = GeminiToOpenAiResponse.Translate(Encoding.UTF8.GetBytes(gemini), "m", 1);
        Assert.Null(error);
        var node = JsonNode.Parse(body)!.AsObject();
        if (openAi == "TOOLS")
        {
            var call = node["choices"]![0]!["message"]!["tool_calls"]![0]!;
            Assert.Equal("tool_calls", (string?)node["choices"]![0]!["finish_reason"]);
            Assert.Equal("""{"x":1}""", (string?)call["function"]!["arguments"]);
            Assert.Equal("c2ln+/=", GeminiJson.SplitToolCallId((string?)call["id"]).Signature);
            return;
        }
        var actual = new JsonObject { ["choices"] = node["choices"]!.DeepClone(), ["usage"] = node["usage"]!.DeepClone() };
        AnthropicTranslationTests.AssertJson(openAi, actual.ToJsonString(), name);
        Assert.Equal((int)node["usage"]!["prompt_tokens"]!, usage.Input);
    }

    [Fact]
    public void Stream_of_thoughts_text_and_function_calls_split_across_chunks_becomes_OpenAI_chunks()
    {
        var translator = new GeminiToOpenAiStream("m", includeUsage: true, created: 1);
        string[] chunks =
        [
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"hmm","thought":true}]},"index":0}]}""",
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"Let "}]},"index":0}]}""",
            """{"candidates":[{"content":{"role":"model","parts":[{"text":"me."}]},"index":0}]}""",
            """{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"a","args":{"city":"Paris"}},"thoughtSignature":"SIG"}]},"index":0}]}""",
            """{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"b","args":{}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":5}}""",
        ];
        var payloads = chunks.SelectMany(c => translator.Translate(Encoding.UTF8.GetBytes(c))).ToList();
        Assert.True(translator.Finished);
        payloads.Add(translator.End()!);
        var docs = payloads.Select(p => JsonDocument.Parse(p).RootElement).ToList();
        foreach (var p in payloads) Sanjia.Testing.OpenApi.OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", p);

        Assert.Equal("assistant", docs[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("hmm", docs[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("reasoning_content").GetString());
        var text = string.Concat(docs.Select(d => d.GetProperty("choices")).Where(c => c.GetArrayLength() > 0)
            .Select(c => c[0].GetProperty("delta")).Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString()));
        Assert.Equal("Let me.", text);
        var calls = docs.Select(d => d.GetProperty("choices")).Where(c => c.GetArrayLength() > 0 && c[0].GetProperty("delta").TryGetProperty("tool_calls", out _))
            .Select(c => c[0].GetProperty("delta").GetProperty("tool_calls")[0]).ToList();
        Assert.Equal([0, 1], calls.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal("""{"city":"Paris"}""", calls[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("SIG", GeminiJson.SplitToolCallId(calls[0].GetProperty("id").GetString()).Signature);
        Assert.Equal("tool_calls", docs[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(8, docs[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public void Error_chunk_mid_stream_throws_a_classified_gateway_error()
    {
        var translator = new GeminiToOpenAiStream("m", includeUsage: false, created: 1);
        var ex = Assert.Throws<Sanjia.Abstractions.GatewayException>(() => translator.Translate("""{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"""u8));
        Assert.Equal(Sanjia.Abstractions.GatewayErrorKind.UpstreamOverloaded, ex.Error.Kind);
    }
}
