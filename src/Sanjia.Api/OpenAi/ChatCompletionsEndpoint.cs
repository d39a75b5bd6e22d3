using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.OpenAi;

/// <summary>
/// <c>POST /v1/chat/completions</c>: the engine's own protocol, so the hooks are thin: the body is parsed as it is, a
/// complete answer is the upstream's bytes (with the cost spliced into <c>usage</c>), a stream is SSE
/// (<see cref="SseWriter"/>). Prompt completions answer the same way and differ only in parsing.
/// </summary>
public class ChatCompletionsEndpoint(GatewayEngine engine, long maxBodyBytes) : ChatEndpoint<ChatCompletionsEndpoint.None>(engine, maxBodyBytes)
{
    public const string Route = "/v1/chat/completions";

    /// <summary>Chat Completions needs no state from the request for its answer.</summary>
    public readonly struct None;

    protected override string LedgerRoute => Route;

    protected override ValueTask<(ChatRequest? Request, None State, GatewayError? Error)> ParseAsync(HttpContext http, ReadOnlyMemory<byte> body)
    {
        var (request, error) = ChatRequestParser.Parse(body);
        return ValueTask.FromResult<(ChatRequest?, None, GatewayError?)>((request, default, error));
    }

    protected override (ReadOnlyMemory<byte> Body, int UsageEnd, GatewayError? Error) Answer(CompleteChatResponse complete, None state) =>
        (complete.Body, complete.UsageEnd, null);

    protected override StreamEvents CreateStream(PipeWriter output, StreamingChatResponse stream, ChatContext? context, ChatRequest request, None state) =>
        new SseWriter(output, stream, context);
}
