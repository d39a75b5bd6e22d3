using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// A protocol's side of a streamed answer (<see cref="ChatEndpoint{TState}"/>): each method writes into the response
/// buffer; <see cref="StreamPump"/> and the endpoint flow decide when it leaves. One object per stream.
/// </summary>
public abstract class StreamEvents
{
    /// <summary>What precedes the first chunk (Anthropic's <c>message_start</c>); it leaves with that chunk.</summary>
    public virtual void Start() { }

    /// <summary>One upstream chunk (OpenAI chunk JSON) in the caller's protocol.</summary>
    public abstract void Chunk(ReadOnlySpan<byte> chunk);

    /// <summary>The stream's end: its usage, and the cost metering recorded (null when metering has no prices).</summary>
    public abstract void Finish(TokenUsage usage, Cost? cost);

    /// <summary>A failure after the first byte, as the protocol's error event.</summary>
    public abstract void Fail(GatewayError error);

    /// <summary>
    /// True for protocols without a terminal error event (Chat Completions): after <see cref="Fail"/> the connection
    /// is reset, so no client can mistake the failure for a clean end. Others end the stream after their error event.
    /// </summary>
    public virtual bool AbortAfterFailure => false;
}

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
    public static async Task<bool> PumpAsync(StreamingChatResponse stream, PipeWriter output, StreamEvents events, CancellationToken ct)
    {
        var next = stream.MoveNextAsync(ct);
        while (await next.ConfigureAwait(false))
        {
            events.Chunk(stream.Current.Span);
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
