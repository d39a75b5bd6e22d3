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
/// OpenAI's shape (the default <see cref="ErrorDialect"/>).
/// </summary>
public sealed class ResponsesEndpoint(GatewayEngine engine, long maxBodyBytes) : ChatEndpoint<ResponsesEnvelope>(engine, maxBodyBytes)
{
    public const string Route = "/v1/responses";

    protected override string LedgerRoute => Route;

    protected override ValueTask<(ChatRequest? Request, ResponsesEnvelope? State, GatewayError? Error)> ParseAsync(HttpContext http, ReadOnlyMemory<byte> body) =>
        ValueTask.FromResult(Translate(body));

    private (ChatRequest? Request, ResponsesEnvelope? State, GatewayError? Error) Translate(ReadOnlyMemory<byte> body)
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

    protected override (ReadOnlyMemory<byte> Body, int UsageEnd, GatewayError? Error) Answer(CompleteChatResponse complete, ResponsesEnvelope envelope)
    {
        var (body, error) = OpenAiToResponsesResponse.Translate(complete.Body.Span, envelope, complete.Usage, Engine.Time.GetUtcNow().ToUnixTimeSeconds());
        return (body, -1, error);
    }

    protected override StreamEvents CreateStream(PipeWriter output, StreamingChatResponse stream, ChatContext? context, ChatRequest request, ResponsesEnvelope envelope) =>
        new Events(new ResponsesStreamWriter(output, envelope), Engine.Time);

    /// <summary>The Responses event stream; a failure after the first byte is its <c>response.failed</c> event, which ends the stream.</summary>
    private sealed class Events(ResponsesStreamWriter writer, TimeProvider time) : StreamEvents
    {
        public override void Start() => writer.Start();

        public override void Chunk(ReadOnlySpan<byte> chunk) => writer.Chunk(chunk);

        public override void Finish(TokenUsage usage, Cost? cost) => writer.Finish(usage, time.GetUtcNow().ToUnixTimeSeconds(), cost);

        public override void Fail(GatewayError error) => writer.Fail(error);
    }
}
