using System.Collections.Frozen;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Providers.Local.Tools;

namespace Sanjia.Providers.Local;

/// <summary>
/// The chat side of the <c>local</c> provider: picks the model, rejects what a plain llama.cpp generation cannot
/// honour (naming the field), reads the offered tools (see Tools/), and hands the rest to the model.
/// </summary>
internal sealed class LocalChatBackend(IEnumerable<LocalChatModel> models) : IChatBackend, IPromptTokenCounter
{
    private readonly FrozenDictionary<string, LocalChatModel> _models = models.ToFrozenDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);

    public string Description => "the local llama.cpp engine";

    public async ValueTask<ChatOutcome> ChatAsync(ChatCall call, CancellationToken cancellationToken)
    {
        var (model, request, tools, error) = Read(call);
        return error ?? await model!.ChatAsync(call, request!, tools, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Exactly the prompt a generation would evaluate: same template, tools and tokenizer.</summary>
    public async ValueTask<(int? Tokens, GatewayError? Error)> CountPromptTokensAsync(ChatCall call, CancellationToken cancellationToken)
    {
        var (model, request, tools, error) = Read(call);
        return error is not null ? (null, error) : await model!.CountPromptTokensAsync(request!, tools, cancellationToken).ConfigureAwait(false);
    }

    private (LocalChatModel? Model, ChatRequestDto? Request, ToolSet? Tools, GatewayError? Error) Read(ChatCall call)
    {
        if (!_models.TryGetValue(call.UpstreamModel, out var model))
        {
            return (null, null, null, GatewayError.ModelNotFound(call.Request.Model));
        }

        ChatRequestDto? request;
        try
        {
            request = JsonSerializer.Deserialize(call.Request.Body.Span, CoreJsonContext.Default.ChatRequestDto);
        }
        catch (JsonException)
        {
            request = null;
        }
        if (request is null)
        {
            return (null, null, null, GatewayError.Invalid("We could not parse the JSON body of your request. Send a valid JSON object.", code: "invalid_json"));
        }
        if (Unsupported(call.Request, request) is { } error)
        {
            return (null, null, null, error);
        }
        var tools = ToolSet.From(request.Tools, request.ToolChoice, out var toolError);
        return toolError is not null ? (null, null, null, toolError) : (model, request, tools, null);
    }

    private GatewayError? Unsupported(ChatRequest call, ChatRequestDto request)
    {
        if ((request.N ?? call.N) > 1)
        {
            return GatewayError.Unsupported("n", Description);
        }
        if (request.ResponseFormat is { ValueKind: JsonValueKind.Object } format
            && format.TryGetProperty("type", out var type) && (type.ValueEquals("json_schema") || type.ValueEquals("json_object")))
        {
            return GatewayError.Unsupported("response_format", Description);
        }
        if (request.Logprobs == true)
        {
            return GatewayError.Unsupported("logprobs", Description);
        }
        if (call.HasImages || request.Messages.Any(HasImage))
        {
            var index = request.Messages.FindIndex(HasImage);
            return GatewayError.Unsupported(index >= 0 ? $"messages[{index}].content" : "messages", Description);
        }
        return null;
    }

    private static bool HasImage(ChatMessageDto message) =>
        message.Content is { ValueKind: JsonValueKind.Array } parts
        && parts.EnumerateArray().Any(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t)
            && (t.ValueEquals("image_url") || t.ValueEquals("input_image")));
}
