using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sanjia.Core.Translation;

/// <summary>
/// The OpenAI Chat Completions response and chunk shapes the translators read, with the extension fields the gateway
/// uses to carry what OpenAI cannot express (LiteLLM's convention): <c>reasoning_content</c> and
/// <c>thinking_blocks</c> on assistant messages and deltas, cache-creation tokens in <c>prompt_tokens_details</c>.
/// </summary>
public sealed class OpenAiCompletion
{
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("choices")] public List<OpenAiChoice>? Choices { get; set; }
    [JsonPropertyName("usage")] public OpenAiUsage? Usage { get; set; }
    [JsonPropertyName("error")] public JsonElement? Error { get; set; }
}

public sealed class OpenAiChoice
{
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("message")] public OpenAiMessage? Message { get; set; }
    [JsonPropertyName("delta")] public OpenAiMessage? Delta { get; set; }
    [JsonPropertyName("finish_reason")] public string? FinishReason { get; set; }
}

public sealed class OpenAiMessage
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    [JsonPropertyName("content")] public string? Content { get; set; }
    [JsonPropertyName("refusal")] public string? Refusal { get; set; }
    [JsonPropertyName("reasoning_content")] public string? ReasoningContent { get; set; }
    [JsonPropertyName("thinking_blocks")] public List<OpenAiThinkingBlock>? ThinkingBlocks { get; set; }
    [JsonPropertyName("tool_calls")] public List<OpenAiToolCall>? ToolCalls { get; set; }
}

/// <summary><c>{"type":"thinking","thinking","signature"}</c> or <c>{"type":"redacted_thinking","data"}</c>.</summary>
public sealed class OpenAiThinkingBlock
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("thinking")] public string? Thinking { get; set; }
    [JsonPropertyName("signature")] public string? Signature { get; set; }
    [JsonPropertyName("data")] public string? Data { get; set; }
}

public sealed class OpenAiToolCall
{
    [JsonPropertyName("index")] public int? Index { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("function")] public OpenAiFunctionCall? Function { get; set; }
}

public sealed class OpenAiFunctionCall
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("arguments")] public string? Arguments { get; set; }
}

public sealed class OpenAiUsage
{
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; set; }
    [JsonPropertyName("completion_tokens")] public int CompletionTokens { get; set; }
    [JsonPropertyName("prompt_tokens_details")] public OpenAiTokenDetails? PromptDetails { get; set; }
    [JsonPropertyName("completion_tokens_details")] public OpenAiTokenDetails? CompletionDetails { get; set; }
}

public sealed class OpenAiTokenDetails
{
    [JsonPropertyName("cached_tokens")] public int? CachedTokens { get; set; }
    /// <summary>Extension: prompt tokens written to a vendor's prompt cache (Anthropic's cache_creation_input_tokens).</summary>
    [JsonPropertyName("cache_creation_tokens")] public int? CacheCreationTokens { get; set; }
    [JsonPropertyName("reasoning_tokens")] public int? ReasoningTokens { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAiCompletion))]
public sealed partial class OpenAiWireJsonContext : JsonSerializerContext;
