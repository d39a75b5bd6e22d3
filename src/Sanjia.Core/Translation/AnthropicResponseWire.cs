using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sanjia.Core.Translation;

/// <summary>An Anthropic <c>message</c> (response body, or the <c>message</c> of <c>message_start</c>).</summary>
public sealed class AnthropicMessageResponse
{
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("content")] public List<AnthropicBlock>? Content { get; set; }
    [JsonPropertyName("stop_reason")] public string? StopReason { get; set; }
    [JsonPropertyName("usage")] public AnthropicUsage? Usage { get; set; }
}

public sealed class AnthropicUsage
{
    [JsonPropertyName("input_tokens")] public int? InputTokens { get; set; }
    [JsonPropertyName("output_tokens")] public int? OutputTokens { get; set; }
    [JsonPropertyName("cache_creation_input_tokens")] public int? CacheCreationInputTokens { get; set; }
    [JsonPropertyName("cache_read_input_tokens")] public int? CacheReadInputTokens { get; set; }
}

/// <summary>Any Anthropic stream event's data.</summary>
public sealed class AnthropicStreamEvent
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("message")] public AnthropicMessageResponse? Message { get; set; }
    [JsonPropertyName("content_block")] public AnthropicBlock? ContentBlock { get; set; }
    [JsonPropertyName("delta")] public AnthropicStreamDelta? Delta { get; set; }
    [JsonPropertyName("usage")] public AnthropicUsage? Usage { get; set; }
    [JsonPropertyName("error")] public AnthropicErrorBody? Error { get; set; }
}

public sealed class AnthropicStreamDelta
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("text")] public string? Text { get; set; }
    [JsonPropertyName("thinking")] public string? Thinking { get; set; }
    [JsonPropertyName("signature")] public string? Signature { get; set; }
    [JsonPropertyName("partial_json")] public string? PartialJson { get; set; }
    [JsonPropertyName("stop_reason")] public string? StopReason { get; set; }
}

public sealed class AnthropicErrorBody
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AnthropicMessageResponse))]
[JsonSerializable(typeof(AnthropicStreamEvent))]
public sealed partial class AnthropicResponseJsonContext : JsonSerializerContext;
