using System.Text;

namespace Sanjia.Benchmarks;

/// <summary>Realistic wire payloads, built once.</summary>
public static class Payloads
{
    public static readonly byte[] SmallRequest = Encoding.UTF8.GetBytes(
        """{"model":"fast","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello to the benchmark."}],"temperature":0.7,"max_tokens":256}""");

    /// <summary>A long conversation (about 64 KiB): what agents and RAG prompts send.</summary>
    public static readonly byte[] LargeRequest = BuildLarge();

    public static readonly byte[] StreamRequest = Encoding.UTF8.GetBytes(
        """{"model":"fast","stream":true,"messages":[{"role":"user","content":"Say hello to the benchmark."}]}""");

    public static readonly byte[] ContentChunk = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion.chunk","created":1750000000,"model":"fake","choices":[{"index":0,"delta":{"content":"tok7 "},"logprobs":null,"finish_reason":null}]}""");

    public static readonly byte[] UsageChunk = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-bench0000000000000000000000","object":"chat.completion.chunk","created":1750000000,"model":"fake","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}""");

    public static readonly byte[] Completion = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-bench","object":"chat.completion","created":1750000000,"model":"fake","choices":[{"index":0,"message":{"role":"assistant","content":"Hello.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}""");

    /// <summary>An SSE body as an upstream sends it: 20 content chunks, a usage chunk and [DONE].</summary>
    public static readonly byte[] SseStream = BuildSse();

    private static byte[] BuildLarge()
    {
        var sb = new StringBuilder("""{"model":"fast","messages":[{"role":"system","content":"You are a helpful assistant."}""");
        var i = 0;
        while (sb.Length < 64 * 1024)
        {
            var role = i++ % 2 == 0 ? "user" : "assistant";
            sb.Append($$""",{"role":"{{role}}","content":"Message {{i}}: the quick brown fox jumps over the lazy dog, and then considers the consequences of its actions at some length. \u00e9\u00e8 \ud83d\ude00"}""");
        }
        sb.Append("""],"temperature":0.2,"max_tokens":1024,"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]}""");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static byte[] BuildSse()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 20; i++)
        {
            sb.Append("data: ").Append(Encoding.UTF8.GetString(ContentChunk)).Append("\n\n");
        }
        sb.Append("data: ").Append(Encoding.UTF8.GetString(UsageChunk)).Append("\n\n");
        sb.Append("data: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
