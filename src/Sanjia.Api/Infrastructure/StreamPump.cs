using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;

namespace Sanjia.Api.Infrastructure;

/// <summary>Turns one upstream chunk (OpenAI chunk JSON) into the caller's protocol, written into the response buffer.</summary>
public delegate void ChunkWriter(ReadOnlySpan<byte> chunk);

/// <summary>
/// The one loop that moves a chat stream to the client for every streaming protocol: each chunk leaves as soon as it
/// arrived, and chunks that arrived together (a burst already in the upstream buffer) share one socket write.
/// </summary>
internal static class StreamPump
{
    /// <summary>
    /// Marks the response as an event stream (no caching, no proxy buffering) and returns its writer. Nothing is sent
    /// yet: the headers leave with the first chunk (the router has already held the answer until its first chunk
    /// arrived, so nothing is waiting on the headers alone).
    /// </summary>
    public static PipeWriter BeginEventStream(HttpResponse response)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        return response.BodyWriter;
    }

    /// <summary>Returns false when the client went away (the caller writes nothing more).</summary>
    public static async Task<bool> PumpAsync(StreamingChatResponse stream, PipeWriter output, ChunkWriter write, CancellationToken ct)
    {
        var next = stream.MoveNextAsync(ct);
        while (await next.ConfigureAwait(false))
        {
            write(stream.Current.Span);
            // Flush whenever the next chunk is not already here.
            next = stream.MoveNextAsync(ct);
            if (!next.IsCompleted)
            {
                var flush = await output.FlushAsync(ct).ConfigureAwait(false);
                if (flush.IsCanceled || flush.IsCompleted)
                {
                    // The client is gone (its token cancels the pending read); let the read finish before disposal.
                    try { await next.ConfigureAwait(false); } catch (Exception ex) when (ex is OperationCanceledException or GatewayException) { }
                    return false;
                }
            }
        }
        return true;
    }
}
