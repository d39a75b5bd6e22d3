using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Json;

/// <summary>
/// Writes OpenAI Chat Completions responses and stream chunks for backends that do not produce them themselves
/// (local models, translations). The shapes follow the OpenAPI schemas <c>CreateChatCompletionResponse</c> and
/// <c>CreateChatCompletionStreamResponse</c>, nullable-but-required fields included.
/// </summary>
public static class OpenAiChatJson
{

    public static string NewCompletionId() => "chatcmpl-" + Guid.CreateVersion7().ToString("N");

    public sealed record Choice(int Index, string Content, string FinishReason);

    public static byte[] Completion(string id, long created, string model, IReadOnlyList<Choice> choices, TokenUsage usage)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("object"u8, "chat.completion"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model);
            w.WriteStartArray("choices"u8);
            foreach (var c in choices)
            {
                w.WriteStartObject();
                w.WriteNumber("index"u8, c.Index);
                w.WriteStartObject("message"u8);
                w.WriteString("role"u8, "assistant"u8);
                w.WriteString("content"u8, c.Content);
                w.WriteNull("refusal"u8);
                w.WriteEndObject();
                w.WriteNull("logprobs"u8);
                w.WriteString("finish_reason"u8, c.FinishReason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteUsage(w, usage);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A content chunk; <paramref name="role"/> only on the first chunk of a choice, <paramref name="finishReason"/> only on the last.</summary>
    public static byte[] Chunk(string id, long created, string model, int index, string? role, string? content, string? finishReason, bool includeUsageNull = false)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            WriteChunkHeader(w, id, created, model);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, index);
            w.WriteStartObject("delta"u8);
            if (role is not null) w.WriteString("role"u8, role);
            if (content is not null) w.WriteString("content"u8, content);
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            if (finishReason is null) w.WriteNull("finish_reason"u8);
            else w.WriteString("finish_reason"u8, finishReason);
            w.WriteEndObject();
            w.WriteEndArray();
            if (includeUsageNull) w.WriteNull("usage"u8);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The final usage chunk sent when the caller set <c>stream_options.include_usage</c>.</summary>
    public static byte[] UsageChunk(string id, long created, string model, TokenUsage usage)
    {
        var buffer = new ArrayBufferWriter<byte>(200);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            WriteChunkHeader(w, id, created, model);
            w.WriteStartArray("choices"u8);
            w.WriteEndArray();
            WriteUsage(w, usage);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A chunk's opening: the object and its <c>id</c>, <c>object</c>, <c>created</c> and <c>model</c>.</summary>
    public static void WriteChunkHeader(Utf8JsonWriter w, string id, long created, string model)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "chat.completion.chunk"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("model"u8, model);
    }

    public static void WriteUsage(Utf8JsonWriter w, TokenUsage usage)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, usage.Input);
        w.WriteNumber("completion_tokens"u8, usage.Output);
        w.WriteNumber("total_tokens"u8, usage.Input + usage.Output);
        w.WriteStartObject("prompt_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, usage.CachedInput);
        if (usage.CacheWrite > 0) w.WriteNumber("cache_creation_tokens"u8, usage.CacheWrite); // as the Anthropic translation reports it
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, usage.Reasoning);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
