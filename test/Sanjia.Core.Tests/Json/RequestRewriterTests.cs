using System.Text;
using System.Text.Json;
using Sanjia.Core.Json;

namespace Sanjia.Core.Tests.Json;

public class RequestRewriterTests
{
    [Fact]
    public void Only_the_model_value_changes()
    {
        const string json = "{\n  \"model\": \"alias\",\n  \"messages\": [{\"role\":\"user\",\"content\":\"h\\u00e9llo\"}],\n  \"x_vendor\": {\"a\": [1.50, 2e3]}\n}";
        var (r, _) = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));
        var rewritten = Encoding.UTF8.GetString(RequestRewriter.Rewrite(r!, "gpt-4o-mini", addStreamUsage: false));
        Assert.Equal(json.Replace("\"alias\"", "\"gpt-4o-mini\""), rewritten);
    }

    [Fact]
    public void Model_names_are_escaped_as_json()
    {
        var (r, _) = ChatRequestParser.Parse("""{"model":"a","messages":[{"role":"user","content":"x"}]}"""u8.ToArray());
        var rewritten = RequestRewriter.Rewrite(r!, "we\"ird/模型", addStreamUsage: false);
        using var doc = JsonDocument.Parse(rewritten);
        Assert.Equal("we\"ird/模型", doc.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public void Adds_stream_usage_option_as_the_first_property()
    {
        var (r, _) = ChatRequestParser.Parse("""{"messages":[{"role":"user","content":"x"}],"stream":true,"model":"a"}"""u8.ToArray());
        var rewritten = Encoding.UTF8.GetString(RequestRewriter.Rewrite(r!, "b", addStreamUsage: true));
        Assert.Equal("""{"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}],"stream":true,"model":"b"}""", rewritten);
    }

    [Fact]
    public void Replaces_the_model_of_any_object_body()
    {
        var rewritten = RequestRewriter.ReplaceModel("""{"input":["a"],"model":"x","dimensions":8}"""u8, "text-embedding-3-small");
        Assert.Equal("""{"input":["a"],"model":"text-embedding-3-small","dimensions":8}""", Encoding.UTF8.GetString(rewritten!));
        Assert.Null(RequestRewriter.ReplaceModel("""{"input":"a"}"""u8, "m"));
    }
}
