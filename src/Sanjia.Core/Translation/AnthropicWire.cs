using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sanjia.Core.Translation;

/// <summary>
/// An Anthropic Messages request (<c>POST /v1/messages</c>, <c>/v1/messages/count_tokens</c>) as documented by
/// Anthropic. Fields the gateway does not model land in <see cref="Extra"/> so they can be named in errors.
/// </summary>
public sealed class AnthropicRequest
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }
    [JsonPropertyName("messages")] public List<AnthropicMessage>? Messages { get; set; }
    /// <summary>A string or an array of text blocks.</summary>
    [JsonPropertyName("system")] public JsonElement? System { get; set; }
    [JsonPropertyName("stop_sequences")] public List<string>? StopSequences { get; set; }
    [JsonPropertyName("temperature")] public double? Temperature { get; set; }
    [JsonPropertyName("top_p")] public double? TopP { get; set; }
    [JsonPropertyName("top_k")] public int? TopK { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("tools")] public List<AnthropicTool>? Tools { get; set; }
    [JsonPropertyName("tool_choice")] public AnthropicToolChoice? ToolChoice { get; set; }
    [JsonPropertyName("thinking")] public JsonElement? Thinking { get; set; }
    [JsonPropertyName("metadata")] public AnthropicMetadata? Metadata { get; set; }
    [JsonPropertyName("service_tier")] public string? ServiceTier { get; set; }
    /// <summary>Anthropic's structured-output setting (<c>output_config.format</c> / legacy <c>output_format</c>).</summary>
    [JsonPropertyName("output_config")] public JsonElement? OutputConfig { get; set; }
    [JsonPropertyName("output_format")] public JsonElement? OutputFormat { get; set; }
    /// <summary>LiteLLM's convention: the caller accepts that parameters the target cannot honour are dropped.</summary>
    [JsonPropertyName("drop_params")] public bool? DropParams { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class AnthropicMessage
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    /// <summary>A string or an array of content blocks.</summary>
    [JsonPropertyName("content")] public JsonElement Content { get; set; }
}

/// <summary>Any content block: text, image, document, tool_use, tool_result, thinking, redacted_thinking.</summary>
public sealed class AnthropicBlock
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("text")] public string? Text { get; set; }
    [JsonPropertyName("source")] public AnthropicSource? Source { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("input")] public JsonElement? Input { get; set; }
    [JsonPropertyName("tool_use_id")] public string? ToolUseId { get; set; }
    /// <summary>tool_result content: a string or an array of text/image blocks.</summary>
    [JsonPropertyName("content")] public JsonElement? Content { get; set; }
    [JsonPropertyName("is_error")] public bool? IsError { get; set; }
    [JsonPropertyName("thinking")] public string? Thinking { get; set; }
    [JsonPropertyName("signature")] public string? Signature { get; set; }
    [JsonPropertyName("data")] public string? Data { get; set; }
    [JsonPropertyName("cache_control")] public JsonElement? CacheControl { get; set; }
}

public sealed class AnthropicSource
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("media_type")] public string? MediaType { get; set; }
    [JsonPropertyName("data")] public string? Data { get; set; }
    [JsonPropertyName("url")] public string? Url { get; set; }
}

public sealed class AnthropicTool
{
    /// <summary>Absent or <c>custom</c> for client tools; a dated name (e.g. <c>web_search_20250305</c>) for server tools.</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("description")] public string? Description { get; set; }
    [JsonPropertyName("input_schema")] public JsonElement? InputSchema { get; set; }
    [JsonPropertyName("cache_control")] public JsonElement? CacheControl { get; set; }
}

public sealed class AnthropicToolChoice
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("disable_parallel_tool_use")] public bool? DisableParallelToolUse { get; set; }
}

public sealed class AnthropicMetadata
{
    [JsonPropertyName("user_id")] public string? UserId { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AnthropicRequest))]
[JsonSerializable(typeof(AnthropicBlock))]
[JsonSerializable(typeof(List<AnthropicBlock>))]
public sealed partial class AnthropicJsonContext : JsonSerializerContext;
