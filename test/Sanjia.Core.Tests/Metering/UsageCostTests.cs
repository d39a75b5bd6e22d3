using System.Buffers;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Metering;

namespace Sanjia.Core.Tests.Metering;

public sealed class UsageCostTests
{
    private static string Rewrite(string json, Cost cost)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var end = UsageCost.FindUsageEnd(bytes);
        Assert.True(end > 0, "no usage object found");
        var output = new ArrayBufferWriter<byte>();
        UsageCost.Write(output, bytes, end, cost);
        Assert.Equal(UsageCost.Length(bytes, end, cost), output.WrittenCount);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Theory]
    [InlineData("""{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}""")]
    [InlineData("""{"usage" : { "prompt_tokens" : 3 ,"prompt_tokens_details":{"cached_tokens":1} } , "choices":[]}""")]
    [InlineData("""{"choices":[],"usage":{ }}""")]
    public void The_cost_joins_the_usage_object_and_everything_else_is_kept_byte_for_byte(string json)
    {
        var rewritten = Rewrite(json, new Cost(0.0000125m, "USD"));
        using var doc = JsonDocument.Parse(rewritten);
        var usage = doc.RootElement.GetProperty("usage");
        Assert.Equal(0.0000125m, usage.GetProperty("cost").GetDecimal());
        Assert.Equal("USD", usage.GetProperty("cost_currency").GetString());
        // Removing the added members gives the original bytes back.
        var added = rewritten.Length - json.Length;
        var at = rewritten.IndexOf("\"cost\"", StringComparison.Ordinal);
        var start = rewritten[at - 1] == ',' ? at - 1 : at;
        Assert.Equal(json, rewritten.Remove(start, added));
    }

    [Fact]
    public void An_unpriced_usage_gets_a_null_cost_and_no_currency()
    {
        var rewritten = Rewrite("""{"usage":{"prompt_tokens":3}}""", Cost.Unpriced);
        Assert.Equal("""{"usage":{"prompt_tokens":3,"cost":null}}""", rewritten);
    }

    [Fact]
    public void The_largest_decimal_and_an_odd_currency_fit_the_reserved_room()
    {
        var rewritten = Rewrite("""{"usage":{"prompt_tokens":3}}""", new Cost(decimal.MinValue / 3m, "x\"y\u00e9zzzzzzzzzz"));
        using var doc = JsonDocument.Parse(rewritten);
        Assert.Equal(decimal.MinValue / 3m, doc.RootElement.GetProperty("usage").GetProperty("cost").GetDecimal());
        Assert.StartsWith("x\"y", doc.RootElement.GetProperty("usage").GetProperty("cost_currency").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_chunk_without_usage_or_with_null_usage_has_no_usage_end()
    {
        Assert.Equal(-1, UsageCost.FindUsageEnd("""{"choices":[{"index":0,"delta":{"content":"x"}}],"usage":null}"""u8));
        Assert.Equal(-1, UsageCost.FindUsageEnd("""{"choices":[]}"""u8));
    }
}
