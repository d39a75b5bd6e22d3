using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Tests.Json;

public class ChatRequestParserTests
{
    private static (ChatRequest? Request, GatewayError? Error) Parse(string json) => ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Reads_the_fields_the_engine_needs_and_leaves_the_rest()
    {
        var (r, e) = Parse("""
            {"model":"chat-default","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}],
             "stream":true,"stream_options":{"include_usage":true},"max_tokens":50,"max_completion_tokens":70,"n":2,"temperature":0.5,"top_p":0.9,
             "tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"},"seed":7,"stop":["a","b"],"x_unknown":{"deep":[1,2,3]}}
            """);
        Assert.Null(e);
        Assert.Equal("chat-default", r!.Model);
        Assert.True(r.Stream);
        Assert.True(r.IncludeUsage);
        Assert.True(r.HasStreamOptions);
        Assert.Equal(70, r.MaxTokens);
        Assert.Equal(2, r.N);
        Assert.Equal(0.5, r.Temperature);
        Assert.Equal(0.9, r.TopP);
        Assert.True(r.HasTools);
        Assert.True(r.HasResponseFormat);
        Assert.True(r.HasImages);
        Assert.Contains("Be brief.", r.PromptText);
        Assert.Contains("Hi", r.PromptText);
    }

    [Fact]
    public void Records_where_the_model_value_is()
    {
        const string json = """{ "messages":[{"role":"user","content":"x"}], "model" : "a\"b" }""";
        var (r, _) = Parse(json);
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal("\"a\\\"b\"", Encoding.UTF8.GetString(bytes, r!.ModelValueStart, r.ModelValueLength));
        Assert.Equal("a\"b", r.Model);
    }

    [Theory]
    [InlineData("{bad", null, "invalid_json")]
    [InlineData("[1,2]", null, "invalid_json")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} trailing", null, "invalid_json")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model", "missing_required_parameter")]
    [InlineData("{\"model\":5,\"messages\":[]}", "model", "invalid_type")]
    [InlineData("{\"model\":\"m\"}", "messages", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":{}}", "messages", "invalid_type")]
    [InlineData("{\"model\":\"m\",\"messages\":[]}", "messages", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}", "messages[0].role", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "messages[0].role", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", "messages[0].content", "invalid_type")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}", "messages[0].content[0].type", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}", "temperature", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":\"high\"}", "top_p", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":0}", "n", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "stream", "invalid_type")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop", "invalid_type")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}", "tools", "invalid_type")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1.5}", "seed", "invalid_type")]
    [InlineData("""{"model":"fa/café","messages":[{"role":"user","content":"x"}]}""", "model", "invalid_value")]
    [InlineData("""{"model":"a\r\nx-evil: 1","messages":[{"role":"user","content":"x"}]}""", "model", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}]}""", "messages[0].tool_calls[0].function", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}]}""", "messages[0].tool_calls[0].function.name", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":{}}}]}]}""", "messages[0].tool_calls[0].function.arguments", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","tool_calls":[null]}]}""", "messages[0].tool_calls[0]", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"tool","tool_call_id":7,"content":"x"}]}""", "messages[0].tool_call_id", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":42}}]}]}""", "messages[0].content[0].file.file_data", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":[]}}]}]}""", "messages[0].content[0].image_url.url", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}""", "messages[0].content[0].text", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}""", "tools[0].function", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}""", "tools[0].function.parameters", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{}}}""", "tool_choice.function.name", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":3}""", "tool_choice", "invalid_type")]
    public void Rejects_bad_requests_naming_the_field(string json, string? param, string code)
    {
        var (r, e) = Parse(json);
        Assert.Null(r);
        Assert.NotNull(e);
        Assert.Equal(GatewayErrorKind.InvalidRequest, e.Kind);
        Assert.Equal(param, e.Param);
        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void Include_usage_only_counts_for_streams()
    {
        var (r, _) = Parse("""{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}""");
        Assert.False(r!.IncludeUsage);
        Assert.True(r.HasStreamOptions);
    }
}
