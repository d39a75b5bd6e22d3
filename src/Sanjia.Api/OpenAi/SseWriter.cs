using System.Buffers;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Metering;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.OpenAi;

/// <summary>
/// Writes an OpenAI chat stream as Server-Sent Events, flushing every chunk as it arrives (no coalescing).
/// A failure after the first byte becomes an error event and the connection is aborted, so no client can mistake
/// it for a clean end: there is no <c>[DONE]</c> after a failure.
/// </summary>
internal static class SseWriter
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private static readonly TimeSpan ErrorDrainDelay = TimeSpan.FromMilliseconds(100);

    /// <param name="context">Carries the cost metering computed for the usage chunk, which is written into that chunk's <c>usage</c>.</param>
    public static async Task WriteAsync(HttpContext http, StreamingChatResponse stream, ChatContext? context)
    {
        var response = http.Response;
        var writer = StreamPump.BeginEventStream(response);
        var ct = http.RequestAborted;
        try
        {
            var completed = await StreamPump.PumpAsync(stream, writer,
                chunk => WriteEvent(writer, chunk, stream.CurrentUsageEnd, context?.Cost), ct).ConfigureAwait(false);
            if (!completed)
            {
                return;
            }
            // [DONE] and the chunked-encoding terminator leave in one write (flushing [DONE] first cost a send per stream).
            writer.Write(Done);
            await response.CompleteAsync().ConfigureAwait(false);
        }
        catch (GatewayException ex)
        {
            var payload = OpenAiErrorWriter.Serialize(ex.Error);
            await writer.WriteAsync(DataPrefix, ct).ConfigureAwait(false);
            await writer.WriteAsync(payload, ct).ConfigureAwait(false);
            await writer.WriteAsync(EventEnd, ct).ConfigureAwait(false);
            await writer.FlushAsync(ct).ConfigureAwait(false);
            // A flush hands the bytes to the transport, not to the socket: an immediate abort can drop the error
            // event (and the chunks before it). Give the transport a moment to send them before the reset.
            await Task.Delay(ErrorDrainDelay, CancellationToken.None).ConfigureAwait(false);
            http.Abort();
        }
    }

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
