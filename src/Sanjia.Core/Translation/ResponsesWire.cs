using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sanjia.Core.Translation;

/// <summary>
/// An OpenAI Responses API request (<c>POST /v1/responses</c>) as documented by OpenAI, for stateless use. Fields the
/// gateway does not model land in <see cref="Extra"/> so they can be named in errors.
/// </summary>
public sealed class ResponsesRequest
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    /// <summary>A string (one user message) or an array of input items.</summary>
    [JsonPropertyName("input")] public JsonElement? Input { get; set; }
    /// <summary>A string (a system/developer message) or, rarely, an array of input items.</summary>
    [JsonPropertyName("instructions")] public JsonElement? Instructions { get; set; }
    [JsonPropertyName("tools")] public List<ResponsesTool>? Tools { get; set; }
    /// <summary><c>"auto"</c>, <c>"none"</c>, <c>"required"</c> or an object such as <c>{"type":"function","name"}</c>.</summary>
    [JsonPropertyName("tool_choice")] public JsonElement? ToolChoice { get; set; }
    [JsonPropertyName("parallel_tool_calls")] public bool? ParallelToolCalls { get; set; }
    [JsonPropertyName("text")] public ResponsesText? Text { get; set; }
    [JsonPropertyName("max_output_tokens")] public int? MaxOutputTokens { get; set; }
    [JsonPropertyName("temperature")] public double? Temperature { get; set; }
    [JsonPropertyName("top_p")] public double? TopP { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("store")] public bool? Store { get; set; }
    [JsonPropertyName("previous_response_id")] public string? PreviousResponseId { get; set; }
    [JsonPropertyName("conversation")] public JsonElement? Conversation { get; set; }
    [JsonPropertyName("background")] public bool? Background { get; set; }
    [JsonPropertyName("reasoning")] public ResponsesReasoning? Reasoning { get; set; }
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
    [JsonPropertyName("safety_identifier")] public string? SafetyIdentifier { get; set; }
    /// <summary>LiteLLM's convention: the caller accepts that parameters the target cannot honour are dropped.</summary>
    [JsonPropertyName("drop_params")] public bool? DropParams { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ResponsesTool
{
    /// <summary><c>function</c> for client tools; anything else (<c>web_search</c>, <c>file_search</c>, ...) is a built-in tool.</summary>
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("description")] public string? Description { get; set; }
    [JsonPropertyName("parameters")] public JsonElement? Parameters { get; set; }
    [JsonPropertyName("strict")] public bool? Strict { get; set; }
}

public sealed class ResponsesText
{
    /// <summary><c>{"type":"text"}</c>, <c>{"type":"json_object"}</c> or <c>{"type":"json_schema","name","schema","strict"}</c>.</summary>
    [JsonPropertyName("format")] public JsonElement? Format { get; set; }
    [JsonPropertyName("verbosity")] public string? Verbosity { get; set; }
}

public sealed class ResponsesReasoning
{
    [JsonPropertyName("effort")] public string? Effort { get; set; }
    [JsonPropertyName("summary")] public string? Summary { get; set; }
}

/// <summary>Any input item: a message (typed or easy form), function_call, function_call_output, reasoning, item_reference.</summary>
public sealed class ResponsesInputItem
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("role")] public string? Role { get; set; }
    /// <summary>A message's content: a string or an array of parts; a reasoning item's reasoning_text parts.</summary>
    [JsonPropertyName("content")] public JsonElement? Content { get; set; }
    [JsonPropertyName("call_id")] public string? CallId { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("arguments")] public string? Arguments { get; set; }
    /// <summary>function_call_output: a string or an array of input_text/input_image parts.</summary>
    [JsonPropertyName("output")] public JsonElement? Output { get; set; }
    [JsonPropertyName("summary")] public List<ResponsesContentPart>? Summary { get; set; }
    [JsonPropertyName("encrypted_content")] public string? EncryptedContent { get; set; }
}

/// <summary>Any content part: input_text, input_image, input_file, output_text, refusal, summary_text, reasoning_text.</summary>
public sealed class ResponsesContentPart
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("text")] public string? Text { get; set; }
    [JsonPropertyName("refusal")] public string? Refusal { get; set; }
    [JsonPropertyName("image_url")] public string? ImageUrl { get; set; }
    [JsonPropertyName("file_id")] public string? FileId { get; set; }
    [JsonPropertyName("detail")] public string? Detail { get; set; }
    [JsonPropertyName("file_data")] public string? FileData { get; set; }
    [JsonPropertyName("file_url")] public string? FileUrl { get; set; }
    [JsonPropertyName("filename")] public string? Filename { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ResponsesRequest))]
[JsonSerializable(typeof(List<ResponsesInputItem>))]
[JsonSerializable(typeof(List<ResponsesContentPart>))]
[JsonSerializable(typeof(List<OpenAiThinkingBlock>))]
public sealed partial class ResponsesJsonContext : JsonSerializerContext;
