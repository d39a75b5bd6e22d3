using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// The one flow of every endpoint that runs a chat through the engine (Chat Completions, Anthropic Messages,
/// Responses, prompt completions): read the body, parse it to the engine's request, apply <c>x-sanjia-timeout</c>,
/// run the engine as the caller, then write route and cost headers and the answer (a JSON body, or events through
/// <see cref="StreamPump"/>). Errors go out in the route's dialect (<see cref="ErrorWriter"/>, endpoint metadata).
/// A protocol supplies only the hooks: <see cref="ParseAsync"/>, <see cref="Answer"/> and <see cref="CreateStream"/>
/// (whose <see cref="StreamEvents"/> also decide what a failure after the first byte looks like).
/// <typeparamref name="TState"/> is what parsing knows that the answer needs (the model name, the envelope).
/// </summary>
public abstract class ChatEndpoint<TState>(GatewayEngine engine, long maxBodyBytes)
{
    /// <summary>How long the last events of a failed stream get to leave before the connection is reset (<see cref="StreamEvents.AbortAfterFailure"/>).</summary>
    private static readonly TimeSpan ErrorDrainDelay = TimeSpan.FromMilliseconds(100);

    protected GatewayEngine Engine => engine;

    protected long MaxBodyBytes => maxBodyBytes;

    /// <summary>The route recorded in the ledger.</summary>
    protected abstract string LedgerRoute { get; }

    /// <summary>The engine's request for the caller's body, with the state its answer needs, or why there is none.</summary>
    protected abstract ValueTask<(ChatRequest? Request, TState? State, GatewayError? Error)> ParseAsync(HttpContext http, ReadOnlyMemory<byte> body);

    /// <summary>
    /// A complete answer in the caller's protocol, and where its <c>usage</c> object closes for the cost
    /// (-1 = find it), or why it cannot be given.
    /// </summary>
    protected abstract (ReadOnlyMemory<byte> Body, int UsageEnd, GatewayError? Error) Answer(CompleteChatResponse complete, TState state);

    /// <summary>The protocol's events for a streamed answer, writing into <paramref name="output"/>.</summary>
    protected abstract StreamEvents CreateStream(PipeWriter output, StreamingChatResponse stream, ChatContext? context, ChatRequest request, TState state);

    public async Task HandleAsync(HttpContext http)
    {
        var start = engine.Time.GetTimestamp();
        if (await Exchange.ReadBodyAsync(http, maxBodyBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }
        var (request, state, error) = await ParseAsync(http, body).ConfigureAwait(false);
        if ((error ?? Exchange.ApplyTimeout(http, request!)) is { } refused)
        {
            await ErrorWriter.WriteAsync(http, refused).ConfigureAwait(false);
            return;
        }
        if (http.Request.Headers.CacheControl is { Count: > 0 } cacheControl)
        {
            request!.CacheControl = Core.Caching.CacheControlHeader.Parse(cacheControl.ToString());
        }
        var (context, outcome) = await engine.ChatAsync(request!, Exchange.CallerOf(http), http.TraceIdentifier, LedgerRoute, start, http.RequestAborted).ConfigureAwait(false);
        if (context is not null)
        {
            Exchange.WriteRouteHeaders(http.Response, context);
        }
        switch (outcome.Response)
        {
            case null:
                await ErrorWriter.WriteAsync(http, outcome.Error!).ConfigureAwait(false);
                return;
            case CompleteChatResponse complete:
                await using (complete.ConfigureAwait(false))
                {
                    var (json, usageEnd, answerError) = Answer(complete, state!);
                    await (answerError is null
                        ? Exchange.WriteBodyAsync(http, json, usageEnd, context?.Cost)
                        : ErrorWriter.WriteAsync(http, answerError)).ConfigureAwait(false);
                }
                return;
            case StreamingChatResponse stream:
                await using (stream.ConfigureAwait(false))
                {
                    await StreamAsync(http, stream, context, request!, state!).ConfigureAwait(false);
                }
                return;
        }
    }

    private async Task StreamAsync(HttpContext http, StreamingChatResponse stream, ChatContext? context, ChatRequest request, TState state)
    {
        var response = http.Response;
        var output = StreamPump.BeginEventStream(response);
        var ct = http.RequestAborted;
        var events = CreateStream(output, stream, context, request, state);
        events.Start(); // leaves with the first chunk
        try
        {
            if (!await StreamPump.PumpAsync(stream, output, events, ct).ConfigureAwait(false))
            {
                return;
            }
            events.Finish(stream.Usage, context?.Cost); // the stream has ended: metering has recorded its row and cost
            await response.CompleteAsync().ConfigureAwait(false); // the last events and the terminator in one write
            return;
        }
        catch (GatewayException ex)
        {
            // A failure after the first byte: the protocol's error event; nothing completes after it.
            events.Fail(ex.Error);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
        if (events.AbortAfterFailure)
        {
            // A flush hands the bytes to the transport, not to the socket: an immediate abort can drop the error
            // event (and the chunks before it). Give the transport a moment to send them before the reset.
            await Task.Delay(ErrorDrainDelay, CancellationToken.None).ConfigureAwait(false);
            http.Abort();
        }
    }
}
