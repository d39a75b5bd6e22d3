using System.IO.Pipelines;
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
public sealed class ResponsesEndpoint(GatewayEngine engine, long maxBodyBytes) : TranslatingChatEndpoint<ResponsesEnvelope>(engine, maxBodyBytes)
{
    public const string Route = "/v1/responses";

    protected override string LedgerRoute => Route;

    protected override Task WriteErrorAsync(HttpContext http, GatewayError error) => OpenAiErrorWriter.WriteAsync(http, error);

    protected override (ChatRequest? Request, ResponsesEnvelope? State, GatewayError? Error) Translate(ReadOnlyMemory<byte> body)
    {
        var translated = ResponsesToOpenAiRequest.Translate(body.Span);
        if (translated.Error is not null)
        {
            return (null, null, translated.Error);
        }
        var (request, parseError) = ChatRequestParser.Parse(translated.Body!);
        if (parseError is not null)
        {
            return (null, null, parseError);
        }
        var envelope = new ResponsesEnvelope(ResponsesJson.NewResponseId(), Engine.Time.GetUtcNow().ToUnixTimeSeconds(), translated.Request!.Model!, translated.Request);
        return (request, envelope, null);
    }

    protected override (byte[]? Body, GatewayError? Error) TranslateAnswer(CompleteChatResponse complete, ResponsesEnvelope envelope) =>
        OpenAiToResponsesResponse.Translate(complete.Body.Span, envelope, complete.Usage, Engine.Time.GetUtcNow().ToUnixTimeSeconds());

    protected override StreamEvents CreateStream(PipeWriter output, ChatRequest request, ResponsesEnvelope envelope)
    {
        var events = new ResponsesStreamWriter(output, envelope);
        return new StreamEvents(events.Start, events.Chunk, (usage, cost) => events.Finish(usage, Engine.Time.GetUtcNow().ToUnixTimeSeconds(), cost), events.Fail);
    }
}
