using System.Buffers;
using System.IO.Pipelines;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Metering;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.OpenAi;

/// <summary>
/// An OpenAI chat stream as Server-Sent Events: each chunk as it came, the cost written into the usage chunk, then
/// <c>[DONE]</c>. A failure after the first byte becomes an error event and the connection is reset, so no client can
/// mistake it for a clean end: there is no <c>[DONE]</c> after a failure.
/// </summary>
internal sealed class SseWriter(PipeWriter output, StreamingChatResponse stream, ChatContext? context) : StreamEvents
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>The usage chunk gets the cost metering computed for it (<see cref="ChatContext.Cost"/>, set as that chunk passed).</summary>
    public override void Chunk(ReadOnlySpan<byte> chunk) => WriteEvent(output, chunk, stream.CurrentUsageEnd, context?.Cost);

    /// <summary>[DONE] and the chunked-encoding terminator leave in one write (flushing [DONE] first cost a send per stream).</summary>
    public override void Finish(TokenUsage usage, Cost? cost) => output.Write(Done);

    public override void Fail(GatewayError error)
    {
        output.Write(DataPrefix);
        output.Write(OpenAiErrorWriter.Serialize(error));
        output.Write(EventEnd);
    }

    public override bool AbortAfterFailure => true;

    /// <summary>
    /// One <c>data:</c> event, copied into the response buffer; the usage chunk (<paramref name="usageEnd"/> ≥ 0) gets
    /// the cost in its <c>usage</c> object on the way, by the same copies (<see cref="UsageCost"/>).
    /// </summary>
    public static void WriteEvent(IBufferWriter<byte> writer, ReadOnlySpan<byte> chunk, int usageEnd, Cost? cost)
    {
        var withCost = usageEnd >= 0 && cost is not null;
        var span = writer.GetSpan(DataPrefix.Length + chunk.Length + (withCost ? UsageCost.MaxAddedBytes : 0) + EventEnd.Length);
        DataPrefix.CopyTo(span);
        var length = withCost
            ? UsageCost.Write(span[DataPrefix.Length..], chunk, usageEnd, cost!.Value)
            : Copy(chunk, span[DataPrefix.Length..]);
        EventEnd.CopyTo(span[(DataPrefix.Length + length)..]);
        writer.Advance(DataPrefix.Length + length + EventEnd.Length);
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }
}
