using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Api.OpenAi;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Translation;

namespace Sanjia.Api.Responses;

/// <summary>
/// <c>POST /v1/responses</c>: the OpenAI Responses API for stateless use, translated to the engine's Chat Completions
/// form and answered as a <c>response</c> object or its typed event stream, whatever backend served it. Errors are in
/// OpenAI's shape (the default of <see cref="ErrorWriter"/>).
/// </summary>
public sealed class ResponsesEndpoint(GatewayEngine engine, long maxBodyBytes)
{
    public const string Route = "/v1/responses";

    public async Task HandleAsync(HttpContext http)
    {
        var start = engine.Time.GetTimestamp();
        var (body, readError) = await RequestBody.ReadAsync(http, maxBodyBytes).ConfigureAwait(false);
        if (readError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, readError).ConfigureAwait(false);
            return;
        }
        var translated = ResponsesToOpenAiRequest.Translate(body.Span);
        if (translated.Error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, translated.Error).ConfigureAwait(false);
            return;
        }
        var (request, parseError) = ChatRequestParser.Parse(translated.Body!);
        if (parseError is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, parseError).ConfigureAwait(false);
            return;
        }
        var envelope = new ResponsesEnvelope(ResponsesJson.NewResponseId(), engine.Time.GetUtcNow().ToUnixTimeSeconds(), translated.Request!.Model!, translated.Request);
        var caller = http.Features.Get<Caller>() ?? Caller.Master;
        var (context, outcome) = await engine.ChatAsync(request!, caller, http.TraceIdentifier, Route, start, http.RequestAborted).ConfigureAwait(false);
        if (context is not null)
        {
            ChatCompletionsEndpoint.WriteRouteHeaders(http.Response, context);
        }
        switch (outcome.Response)
        {
            case null:
                await OpenAiErrorWriter.WriteAsync(http, outcome.Error!).ConfigureAwait(false);
                return;
            case CompleteChatResponse complete:
                await using (complete.ConfigureAwait(false))
                {
                    var (json, error) = OpenAiToResponsesResponse.Translate(complete.Body.Span, envelope, complete.Usage, engine.Time.GetUtcNow().ToUnixTimeSeconds());
                    if (error is not null)
                    {
                        await OpenAiErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
                        return;
                    }
                    http.Response.ContentType = "application/json";
                    http.Response.ContentLength = json!.Length;
                    await http.Response.Body.WriteAsync(json, http.RequestAborted).ConfigureAwait(false);
                }
                return;
            case StreamingChatResponse stream:
                await using (stream.ConfigureAwait(false))
                {
                    await StreamAsync(http, stream, envelope).ConfigureAwait(false);
                }
                return;
        }
    }

    private async Task StreamAsync(HttpContext http, StreamingChatResponse stream, ResponsesEnvelope envelope)
    {
        var response = http.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var ct = http.RequestAborted;
        var output = response.BodyWriter;
        var events = new ResponsesStreamWriter(output, envelope);
        await response.StartAsync(ct).ConfigureAwait(false);
        events.Start();
        await output.FlushAsync(ct).ConfigureAwait(false);
        try
        {
            if (!await StreamPump.PumpAsync(stream, output, events.Chunk, ct).ConfigureAwait(false))
            {
                return;
            }
            events.Finish(stream.Usage, engine.Time.GetUtcNow().ToUnixTimeSeconds());
            await response.CompleteAsync().ConfigureAwait(false); // the last events and the terminator in one write
            return;
        }
        catch (GatewayException ex)
        {
            // The Responses stream reports a failure after the first byte as response.failed; nothing completes after it.
            events.Fail(ex.Error);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
    }
}
