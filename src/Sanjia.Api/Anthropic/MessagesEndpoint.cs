using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Api.OpenAi;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Tokens;
using Sanjia.Core.Translation;

namespace Sanjia.Api.Anthropic;

/// <summary>
/// <c>POST /v1/messages</c> and <c>POST /v1/messages/count_tokens</c>: Anthropic Messages in, translated to the
/// engine's OpenAI form, answered in Anthropic's JSON or event stream whatever backend served it.
/// </summary>
public sealed class MessagesEndpoint(GatewayEngine engine, long maxBodyBytes) : ChatEndpoint<string>(engine, maxBodyBytes)
{
    public const string Route = "/v1/messages";
    public const string CountTokensRoute = "/v1/messages/count_tokens";

    protected override string LedgerRoute => Route;

    protected override ValueTask<(ChatRequest? Request, string? State, GatewayError? Error)> ParseAsync(HttpContext http, ReadOnlyMemory<byte> body) =>
        ValueTask.FromResult(Translate(body, countOnly: false));

    private static (ChatRequest? Request, string? Model, GatewayError? Error) Translate(ReadOnlyMemory<byte> body, bool countOnly)
    {
        var translated = AnthropicToOpenAiRequest.Translate(body.Span, countOnly);
        if (translated.Error is not null)
        {
            return (null, null, translated.Error);
        }
        var (request, parseError) = ChatRequestParser.Parse(translated.Body);
        return parseError is not null ? (null, null, parseError) : (request, translated.Request!.Model, null);
    }

    protected override (ReadOnlyMemory<byte> Body, int UsageEnd, GatewayError? Error) Answer(CompleteChatResponse complete, string model)
    {
        var (body, error) = OpenAiToAnthropicResponse.Translate(complete.Body.Span, model, complete.Usage);
        return (body, -1, error);
    }

    protected override StreamEvents CreateStream(PipeWriter output, StreamingChatResponse stream, ChatContext? context, ChatRequest request, string model) =>
        new Events(new AnthropicStreamWriter(output, model), request);

    /// <summary>Anthropic's typed events; a failure after the first byte is its <c>error</c> event, which ends the stream.</summary>
    private sealed class Events(AnthropicStreamWriter writer, ChatRequest request) : StreamEvents
    {
        // message_start carries the same estimate count_tokens gives (prompt and tool definitions); the final
        // message_delta carries the exact usage.
        public override void Start() => writer.Start(InputTokens(request));

        public override void Chunk(ReadOnlySpan<byte> chunk) => writer.Chunk(chunk);

        public override void Finish(TokenUsage usage, Cost? cost) => writer.Finish(usage, cost);

        public override void Fail(GatewayError error) => writer.Error(error);
    }

    public async Task CountTokensAsync(HttpContext http)
    {
        if (await Exchange.ReadBodyAsync(http, MaxBodyBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }
        var (request, model, error) = Translate(body, countOnly: true);
        var resolved = error is null ? Engine.Registry.Resolve(model!) : null;
        if (error is null && resolved is null)
        {
            error = GatewayError.ModelNotFound(model!);
        }
        int? tokens = null;
        // A backend that tokenizes itself (local models) counts exactly what its usage will report; an alias counts
        // on its first deployment, the one that answers when all is well. Others get the o200k estimate.
        if (error is null && resolved!.Deployments is [var first, ..] && first.Provider.Chat is IPromptTokenCounter counter)
        {
            (tokens, error) = await counter.CountPromptTokensAsync(
                new ChatCall(request!, first.UpstreamModel, http.TraceIdentifier), http.RequestAborted).ConfigureAwait(false);
        }
        if (error is not null)
        {
            await ErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(
            string.Create(CultureInfo.InvariantCulture, $"{{\"input_tokens\":{tokens ?? InputTokens(request!)}}}"), http.RequestAborted).ConfigureAwait(false);
    }

    private static int InputTokens(ChatRequest request) => TokenCounter.CountPrompt(request.PromptText) + ToolTokens(request.Body.Span);

    /// <summary>Tool definitions count toward the prompt (the model sees them), roughly as their JSON text.</summary>
    private static int ToolTokens(ReadOnlySpan<byte> openAiBody)
    {
        var reader = new Utf8JsonReader(openAiBody);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isTools = reader.ValueTextEquals("tools"u8);
            reader.Read();
            if (isTools)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                return TokenCounter.Count(System.Text.Encoding.UTF8.GetString(openAiBody[start..(int)reader.BytesConsumed]));
            }
            reader.Skip();
        }
        return 0;
    }
}
