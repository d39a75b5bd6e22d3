using System.Globalization;
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
public sealed class MessagesEndpoint(GatewayEngine engine, long maxBodyBytes)
{
    public const string Route = "/v1/messages";
    public const string CountTokensRoute = "/v1/messages/count_tokens";

    public async Task HandleAsync(HttpContext http)
    {
        var start = engine.Time.GetTimestamp();
        var (request, model, error) = await ReadAsync(http, countOnly: false).ConfigureAwait(false);
        if (error is not null)
        {
            await AnthropicErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var caller = http.Features.Get<Caller>() ?? Caller.Master;
        var (context, outcome) = await engine.ChatAsync(request!, caller, http.TraceIdentifier, Route, start, http.RequestAborted).ConfigureAwait(false);
        if (context is not null)
        {
            ChatCompletionsEndpoint.WriteRouteHeaders(http.Response, context);
        }
        switch (outcome.Response)
        {
            case null:
                await AnthropicErrorWriter.WriteAsync(http, outcome.Error!).ConfigureAwait(false);
                return;
            case CompleteChatResponse complete:
                await using (complete.ConfigureAwait(false))
                {
                    var (body, translateError) = OpenAiToAnthropicResponse.Translate(complete.Body.Span, model!, complete.Usage);
                    if (translateError is not null)
                    {
                        await AnthropicErrorWriter.WriteAsync(http, translateError).ConfigureAwait(false);
                        return;
                    }
                    http.Response.ContentType = "application/json";
                    http.Response.ContentLength = body!.Length;
                    await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
                }
                return;
            case StreamingChatResponse stream:
                await using (stream.ConfigureAwait(false))
                {
                    await StreamAsync(http, stream, request!, model!).ConfigureAwait(false);
                }
                return;
        }
    }

    public async Task CountTokensAsync(HttpContext http)
    {
        var (request, model, error) = await ReadAsync(http, countOnly: true).ConfigureAwait(false);
        if (error is null && engine.Registry.Resolve(model!) is null)
        {
            error = GatewayError.ModelNotFound(model!);
        }
        if (error is not null)
        {
            await AnthropicErrorWriter.WriteAsync(http, error).ConfigureAwait(false);
            return;
        }
        var tokens = TokenCounter.CountPrompt(request!.PromptText) + ToolTokens(request.Body.Span);
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(
            string.Create(CultureInfo.InvariantCulture, $"{{\"input_tokens\":{tokens}}}"), http.RequestAborted).ConfigureAwait(false);
    }

    private async Task<(ChatRequest? Request, string? Model, GatewayError? Error)> ReadAsync(HttpContext http, bool countOnly)
    {
        var (body, readError) = await RequestBody.ReadAsync(http, maxBodyBytes).ConfigureAwait(false);
        if (readError is not null)
        {
            return (null, null, readError);
        }
        var translated = AnthropicToOpenAiRequest.Translate(body.Span, countOnly);
        if (translated.Error is not null)
        {
            return (null, null, translated.Error);
        }
        var (request, parseError) = ChatRequestParser.Parse(translated.Body);
        return parseError is not null ? (null, null, parseError) : (request, translated.Request!.Model, null);
    }

    private static async Task StreamAsync(HttpContext http, StreamingChatResponse stream, ChatRequest request, string model)
    {
        var response = http.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var ct = http.RequestAborted;
        var output = response.BodyWriter;
        var events = new AnthropicStreamWriter(output, model);
        await response.StartAsync(ct).ConfigureAwait(false);
        // The same estimate count_tokens gives (prompt and tool definitions); the final message_delta carries the exact usage.
        events.Start(TokenCounter.CountPrompt(request.PromptText) + ToolTokens(request.Body.Span));
        await output.FlushAsync(ct).ConfigureAwait(false);
        try
        {
            if (!await StreamPump.PumpAsync(stream, output, events.Chunk, ct).ConfigureAwait(false))
            {
                return;
            }
            events.Finish(stream.Usage);
            await response.CompleteAsync().ConfigureAwait(false); // the last events and the terminator in one write
            return;
        }
        catch (GatewayException ex)
        {
            // Anthropic reports failures after the first byte as an error event; no message_stop follows.
            events.Error(ex.Error);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
    }

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
