using System.Text;
using Sanjia.Core.Json;

namespace Sanjia.Core.Tests.Json;

public class ChunkScannerTests
{
    [Fact]
    public void Reads_usage_with_cached_and_reasoning_tokens()
    {
        var info = ChunkScanner.Scan("""
            {"id":"x","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,
             "prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12}}}
            """u8, null);
        Assert.True(info.Valid);
        Assert.Equal(0, info.Choices);
        Assert.Equal(120, info.Usage!.Value.Input);
        Assert.Equal(30, info.Usage.Value.Output);
        Assert.Equal(100, info.Usage.Value.CachedInput);
        Assert.Equal(12, info.Usage.Value.Reasoning);
        Assert.False(info.Usage.Value.Estimated);
    }

    [Fact]
    public void Reads_deepseek_cache_hits()
    {
        var info = ChunkScanner.Scan("""{"usage":{"prompt_tokens":50,"completion_tokens":5,"prompt_cache_hit_tokens":40,"prompt_cache_miss_tokens":10}}"""u8, null);
        Assert.Equal(40, info.Usage!.Value.CachedInput);
    }

    [Fact]
    public void Collects_generated_text_from_deltas_messages_and_tool_arguments()
    {
        var text = new StringBuilder();
        ChunkScanner.Scan("""{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}],"usage":null}"""u8, text);
        ChunkScanner.Scan("""{"choices":[{"index":0,"delta":{"reasoning_content":"think","tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]}"""u8, text);
        ChunkScanner.Scan("""{"choices":[{"index":0,"message":{"role":"assistant","content":"lo"}}]}"""u8, text);
        Assert.Equal("Helthink{\"a\":1}lo", text.ToString());
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"choices\":[")]
    [InlineData("")]
    public void Flags_malformed_payloads(string payload)
    {
        Assert.False(ChunkScanner.Scan(Encoding.UTF8.GetBytes(payload), null).Valid);
    }

    [Fact]
    public void Flags_error_payloads()
    {
        var info = ChunkScanner.Scan("""{"error":{"message":"overloaded","type":"server_error"}}"""u8, null);
        Assert.True(info.Valid);
        Assert.True(info.IsError);
    }
}
