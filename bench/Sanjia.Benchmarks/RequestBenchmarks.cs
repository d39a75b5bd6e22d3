using BenchmarkDotNet.Attributes;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Benchmarks;

/// <summary>The inbound path of every chat request: one-pass scan of the caller's body, then the model splice.</summary>
[Config(typeof(HotPathConfig))]
public class RequestBenchmarks
{
    private ChatRequest _small = null!;
    private ChatRequest _large = null!;
    private ChatRequest _stream = null!;

    [GlobalSetup]
    public void Setup()
    {
        _small = ChatRequestParser.Parse(Payloads.SmallRequest).Request!;
        _large = ChatRequestParser.Parse(Payloads.LargeRequest).Request!;
        _stream = ChatRequestParser.Parse(Payloads.StreamRequest).Request!;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("small body")]
    public ChatRequest? ParseSmall() => ChatRequestParser.Parse(Payloads.SmallRequest).Request;

    /// <summary>What every body pays before parsing: the UTF-8 and surrogate check of <c>RequestBody</c>.</summary>
    [Benchmark, BenchmarkCategory("small body")]
    public ChatRequest? ParseSmallAfterTextCheck() => JsonText.Check(Payloads.SmallRequest) is null ? ChatRequestParser.Parse(Payloads.SmallRequest).Request : null;

    [Benchmark, BenchmarkCategory("small body")]
    public byte[] RewriteSmall() => RequestRewriter.Rewrite(_small, "upstream-model-name", addStreamUsage: false);

    [Benchmark, BenchmarkCategory("small body")]
    public byte[] RewriteStreamAddingUsage() => RequestRewriter.Rewrite(_stream, "upstream-model-name", addStreamUsage: true);

    [Benchmark, BenchmarkCategory("small body")]
    public byte[] ParseAndRewriteSmall() => RequestRewriter.Rewrite(ChatRequestParser.Parse(Payloads.SmallRequest).Request!, "upstream-model-name", false);

    [Benchmark(Baseline = true), BenchmarkCategory("64 KiB body")]
    public ChatRequest? ParseLarge() => ChatRequestParser.Parse(Payloads.LargeRequest).Request;

    /// <summary>The UTF-8 and surrogate check alone, on the 64 KiB body (non-ASCII text and surrogate-pair escapes in every message).</summary>
    [Benchmark, BenchmarkCategory("64 KiB body")]
    public bool ParseLargeTextCheckOnly() => JsonText.Check(Payloads.LargeRequest) is null;

    [Benchmark, BenchmarkCategory("64 KiB body")]
    public ChatRequest? ParseLargeAfterTextCheck() => JsonText.Check(Payloads.LargeRequest) is null ? ChatRequestParser.Parse(Payloads.LargeRequest).Request : null;

    [Benchmark, BenchmarkCategory("64 KiB body")]
    public byte[] RewriteLarge() => RequestRewriter.Rewrite(_large, "upstream-model-name", addStreamUsage: false);

    [Benchmark, BenchmarkCategory("64 KiB body")]
    public byte[] ParseAndRewriteLarge() => RequestRewriter.Rewrite(ChatRequestParser.Parse(Payloads.LargeRequest).Request!, "upstream-model-name", false);
}
