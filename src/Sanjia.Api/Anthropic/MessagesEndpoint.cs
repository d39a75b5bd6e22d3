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
public sealed class MessagesEndpoint(GatewayEngine engine, long maxBodyBytes) : TranslatingChatEndpoint<string>(engine, maxBodyBytes)
{
    public const string Route = "/v1/messages";
    public const string CountTokensRoute = "/v1/messages/count_tokens";

    protected override string LedgerRoute => Route;

    protected override Task WriteErrorAsync(HttpContext http, GatewayError error) => AnthropicErrorWriter.WriteAsync(http, error);

    protected override (ChatRequest? Request, string? State, GatewayError? Error) Translate(ReadOnlyMemory<byte> body) => Translate(body, countOnly: false);

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

    protected override (byte[]? Body, GatewayError? Error) TranslateAnswer(CompleteChatResponse complete, string model) =>
        OpenAiToAnthropicResponse.Translate(complete.Body.Span, model, complete.Usage);

    protected override StreamEvents CreateStream(PipeWriter output, ChatRequest request, string model)
    {
        var events = new AnthropicStreamWriter(output, model);
        // message_start carries the same estimate count_tokens gives (prompt and tool definitions); the final
        // message_delta carries the exact usage.
        return new StreamEvents(() => events.Start(InputTokens(request)), events.Chunk, events.Finish, events.Error);
    }

    public async Task CountTokensAsync(HttpContext http)
    {
        var (body, error) = await ReadBodyAsync(http).ConfigureAwait(false);
        var (request, model, translateError) = error is null ? Translate(body, countOnly: true) : (null, null, error);
        error = translateError;
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
            await AnthropicErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
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
