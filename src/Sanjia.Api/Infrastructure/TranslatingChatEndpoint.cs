using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.OpenAi;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// The one flow of an endpoint that speaks another protocol than the engine (Anthropic Messages, OpenAI Responses):
/// read the body, translate it to the engine's Chat Completions request, run the engine, and write the answer back in
/// the caller's protocol (a translated JSON body, or typed events through <see cref="StreamPump"/>), with errors in
/// that protocol's shape. A protocol supplies the translations and its error writer; <typeparamref name="TState"/>
/// is what the request translation knows that the answer's translation needs (the model name, the envelope).
/// </summary>
public abstract class TranslatingChatEndpoint<TState>(GatewayEngine engine, long maxBodyBytes)
{
    protected GatewayEngine Engine => engine;

    /// <summary>The route recorded in the ledger.</summary>
    protected abstract string LedgerRoute { get; }

    protected abstract Task WriteErrorAsync(HttpContext http, GatewayError error);

    /// <summary>The engine's request for the caller's body, with the state its answer needs, or why there is none.</summary>
    protected abstract (ChatRequest? Request, TState? State, GatewayError? Error) Translate(ReadOnlyMemory<byte> body);

    protected abstract (byte[]? Body, GatewayError? Error) TranslateAnswer(CompleteChatResponse complete, TState state);

    /// <summary>The protocol's stream events, writing into <paramref name="output"/>.</summary>
    protected abstract StreamEvents CreateStream(PipeWriter output, ChatRequest request, TState state);

    /// <param name="Finish">The stream's end: its usage, and the cost metering recorded (null when metering has no prices).</param>
    protected readonly record struct StreamEvents(Action Start, ChunkWriter Chunk, Action<TokenUsage, Cost?> Finish, Action<GatewayError> Fail);

    protected async Task<(ReadOnlyMemory<byte> Body, GatewayError? Error)> ReadBodyAsync(HttpContext http) =>
        await RequestBody.ReadAsync(http, maxBodyBytes).ConfigureAwait(false);

    public async Task HandleAsync(HttpContext http)
    {
        var start = engine.Time.GetTimestamp();
        var (body, readError) = await ReadBodyAsync(http).ConfigureAwait(false);
        var (request, state, error) = readError is null ? Translate(body) : (null, default, readError);
        if (error is not null)
        {
            await WriteErrorAsync(http, error).ConfigureAwait(false);
            return;
        }
        var caller = http.Features.Get<Caller>() ?? Caller.Master;
        var (context, outcome) = await engine.ChatAsync(request!, caller, http.TraceIdentifier, LedgerRoute, start, http.RequestAborted).ConfigureAwait(false);
        if (context is not null)
        {
            ChatCompletionsEndpoint.WriteRouteHeaders(http.Response, context);
        }
        switch (outcome.Response)
        {
            case null:
                await WriteErrorAsync(http, outcome.Error!).ConfigureAwait(false);
                return;
            case CompleteChatResponse complete:
                await using (complete.ConfigureAwait(false))
                {
                    var (json, translateError) = TranslateAnswer(complete, state!);
                    if (translateError is not null)
                    {
                        await WriteErrorAsync(http, translateError).ConfigureAwait(false);
                        return;
                    }
                    http.Response.ContentType = "application/json";
                    await ChatCompletionsEndpoint.WriteBodyAsync(http, json, -1, context?.Cost).ConfigureAwait(false);
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
        var events = CreateStream(output, request, state);
        events.Start(); // leaves with the first chunk
        try
        {
            if (!await StreamPump.PumpAsync(stream, output, events.Chunk, ct).ConfigureAwait(false))
            {
                return;
            }
            events.Finish(stream.Usage, context?.Cost); // the stream has ended: metering has recorded its row and cost
            await response.CompleteAsync().ConfigureAwait(false); // the last events and the terminator in one write
            return;
        }
        catch (GatewayException ex)
        {
            // A failure after the first byte is reported as the protocol's error event; nothing completes after it.
            events.Fail(ex.Error);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
    }
}
