using System.Text;
using Sanjia.Core.Json;

namespace Sanjia.Core.Tests.Json;

public class JsonTextTests
{
    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData("""{"a":"café 模型 😀"}""")]
    [InlineData("""{"a":"\ud83d\ude00 \uD83D\uDE00 \u00e9"}""")]
    [InlineData("""{"a":"\\ud800 is text after an escaped backslash"}""")]
    [InlineData("""{"a":"ends with a backslash \\"}""")]
    [InlineData("""not even json \""")]
    public void Clean_text_passes(string body) => Assert.Null(JsonText.Check(Utf8(body)));

    [Theory]
    [InlineData("""{"input":"\ud800x"}""", "input")]
    [InlineData("""{"input":["ok","x\udc00"]}""", "input[1]")]
    [InlineData("""{"messages":[{"role":"user","content":"\ude00\ud83d"}]}""", "messages[0].content")]
    [InlineData("""{"a":{"b":"\\\ud83d"}}""", "a.b")]
    [InlineData("""{"a":"\ud83d\u0041"}""", "a")]
    [InlineData("""{"a":"\ud83d""", "a")]
    public void Lone_surrogate_escapes_are_refused_naming_the_field(string body, string field)
    {
        var error = JsonText.Check(Utf8(body));
        Assert.NotNull(error);
        Assert.Equal(field, error.Param);
        Assert.Equal("invalid_encoding", error.Code);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"caf# au lait"}]}""", "messages[0].content")]
    [InlineData("""{"in#put":"x"}""", "in#put")]
    [InlineData("""{"a":[1,2,{"b":[true,"#"]}]}""", "a[2].b[1]")]
    [InlineData("""{"a":"x"} #""", null)]
    public void Invalid_utf8_is_refused_naming_the_field(string template, string? field)
    {
        var body = Utf8(template);
        var at = Array.IndexOf(body, (byte)'#');
        body[at] = 0xC3; // a lead byte followed by ASCII: never valid
        var error = JsonText.Check(body);
        Assert.NotNull(error);
        Assert.Equal(field?.Replace('#', '\uFFFD'), error.Param);
        Assert.Contains($"byte {at}", error.Message);
    }
}
