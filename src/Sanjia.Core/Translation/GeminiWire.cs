using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sanjia.Core.Translation;

/// <summary>A Gemini <c>GenerateContentResponse</c> (a whole answer, or one chunk of <c>streamGenerateContent</c>).</summary>
public sealed class GeminiResponse
{
    [JsonPropertyName("candidates")] public List<GeminiCandidate>? Candidates { get; set; }
    [JsonPropertyName("promptFeedback")] public GeminiPromptFeedback? PromptFeedback { get; set; }
    [JsonPropertyName("usageMetadata")] public GeminiUsage? UsageMetadata { get; set; }
    [JsonPropertyName("modelVersion")] public string? ModelVersion { get; set; }
    [JsonPropertyName("responseId")] public string? ResponseId { get; set; }
    [JsonPropertyName("error")] public GeminiError? Error { get; set; }
}

public sealed class GeminiCandidate
{
    [JsonPropertyName("content")] public GeminiContent? Content { get; set; }
    [JsonPropertyName("finishReason")] public string? FinishReason { get; set; }
    [JsonPropertyName("index")] public int? Index { get; set; }
}

public sealed class GeminiContent
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    [JsonPropertyName("parts")] public List<GeminiPart>? Parts { get; set; }
}

public sealed class GeminiPart
{
    [JsonPropertyName("text")] public string? Text { get; set; }
    [JsonPropertyName("thought")] public bool? Thought { get; set; }
    [JsonPropertyName("thoughtSignature")] public string? ThoughtSignature { get; set; }
    [JsonPropertyName("functionCall")] public GeminiFunctionCall? FunctionCall { get; set; }
}

public sealed class GeminiFunctionCall
{
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("args")] public JsonElement? Args { get; set; }
}

public sealed class GeminiPromptFeedback
{
    [JsonPropertyName("blockReason")] public string? BlockReason { get; set; }
}

public sealed class GeminiUsage
{
    [JsonPropertyName("promptTokenCount")] public int? PromptTokenCount { get; set; }
    [JsonPropertyName("candidatesTokenCount")] public int? CandidatesTokenCount { get; set; }
    [JsonPropertyName("cachedContentTokenCount")] public int? CachedContentTokenCount { get; set; }
    [JsonPropertyName("thoughtsTokenCount")] public int? ThoughtsTokenCount { get; set; }
    [JsonPropertyName("totalTokenCount")] public int? TotalTokenCount { get; set; }
}

/// <summary>Google's error body: <c>{"error":{"code","message","status"}}</c>.</summary>
public sealed class GeminiError
{
    [JsonPropertyName("code")] public int? Code { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("status")] public string? Status { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GeminiResponse))]
public sealed partial class GeminiJsonContext : JsonSerializerContext;
