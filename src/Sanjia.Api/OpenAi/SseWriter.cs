using System.Buffers;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;

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

    public static async Task WriteAsync(HttpContext http, StreamingChatResponse stream)
    {
        var response = http.Response;
        var writer = StreamPump.BeginEventStream(response);
        var ct = http.RequestAborted;
        try
        {
            var completed = await StreamPump.PumpAsync(stream, writer, chunk =>
            {
                var span = writer.GetSpan(DataPrefix.Length + chunk.Length + EventEnd.Length);
                DataPrefix.CopyTo(span);
                chunk.CopyTo(span[DataPrefix.Length..]);
                EventEnd.CopyTo(span[(DataPrefix.Length + chunk.Length)..]);
                writer.Advance(DataPrefix.Length + chunk.Length + EventEnd.Length);
            }, ct).ConfigureAwait(false);
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
}
