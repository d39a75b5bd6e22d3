using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Metering;
using Sanjia.Core.Streaming;

namespace Sanjia.Benchmarks;

/// <summary>The per-chunk work of a stream: read the upstream's SSE, scan for usage, frame for the client.</summary>
[Config(typeof(HotPathConfig))]
public class StreamBenchmarks
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private readonly StringBuilder _text = new();
    private readonly ArrayBufferWriter<byte> _out = new(64 * 1024);

    [Benchmark(Baseline = true), BenchmarkCategory("scan")]
    public ChunkInfo ScanContentChunk() => ChunkScanner.Scan(Payloads.ContentChunk, null);

    [Benchmark, BenchmarkCategory("scan")]
    public ChunkInfo ScanContentChunkCollectingText()
    {
        _text.Clear();
        return ChunkScanner.Scan(Payloads.ContentChunk, _text);
    }

    [Benchmark, BenchmarkCategory("scan")]
    public ChunkInfo ScanUsageChunk() => ChunkScanner.Scan(Payloads.UsageChunk, null);

    /// <summary>A whole upstream stream (22 events) through the reader, as the OpenAI provider consumes it.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("sse stream (22 events)")]
    public async Task<int> ReadSseStream()
    {
        await using var reader = new SseLineReader(new MemoryStream(Payloads.SseStream, writable: false));
        var events = 0;
        while (await reader.ReadAsync(CancellationToken.None) is not null)
        {
            events++;
        }
        return events;
    }

    /// <summary>
    /// The same 22 events framed for the client the way the API's SseWriter does (span copy into the body writer),
    /// the usage chunk with its cost added (<see cref="UsageCost"/>, at the offset the scan found).
    /// </summary>
    [Benchmark, BenchmarkCategory("sse stream (22 events)")]
    public int FrameSseStream()
    {
        _out.Clear();
        for (var i = 0; i < 21; i++)
        {
            var chunk = i < 20 ? Payloads.ContentChunk : Payloads.UsageChunk;
            var usageEnd = i < 20 ? -1 : UsageChunkEnd;
            var span = _out.GetSpan(DataPrefix.Length + chunk.Length + UsageCost.MaxAddedBytes + EventEnd.Length);
            DataPrefix.CopyTo(span);
            var length = usageEnd >= 0 ? UsageCost.Write(span[DataPrefix.Length..], chunk, usageEnd, Cost) : Copy(chunk, span[DataPrefix.Length..]);
            EventEnd.CopyTo(span[(DataPrefix.Length + length)..]);
            _out.Advance(DataPrefix.Length + length + EventEnd.Length);
        }
        _out.Write("data: [DONE]\n\n"u8);
        return _out.WrittenCount;
    }

    /// <summary>The one chunk per stream the gateway rewrites: the usage chunk framed with its cost added.</summary>
    [Benchmark, BenchmarkCategory("write chunk")]
    public int WriteUsageChunkCost()
    {
        _out.Clear();
        UsageCost.Write(_out, Payloads.UsageChunk, UsageChunkEnd, Cost);
        return _out.WrittenCount;
    }

    private static readonly int UsageChunkEnd = ChunkScanner.Scan(Payloads.UsageChunk, null).UsageEnd;
    private static readonly Cost Cost = new(0.000123456m, "USD");

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    /// <summary>A local-model chunk written by the gateway itself.</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("write chunk")]
    public byte[] WriteChunk() => OpenAiChatJson.Chunk("chatcmpl-0123456789abcdef0123456789abcdef", 1_750_000_000, "local/stories260K", 0, null, " the", null);

    [Benchmark, BenchmarkCategory("write chunk")]
    public byte[] WriteUsageChunk() => OpenAiChatJson.UsageChunk("chatcmpl-0123456789abcdef0123456789abcdef", 1_750_000_000, "local/stories260K", new TokenUsage(12, 20));
}
