using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Providers.Local.Tools;

/// <summary>
/// OpenAI Chat Completions payloads for answers with tool calls: the complete response (message.tool_calls,
/// finish_reason "tool_calls") and the streamed tool-call deltas (first the id, type and name with empty arguments,
/// then the arguments in fragments), as OpenAI's own streams send them.
/// </summary>
internal static class ToolCallJson
{
    /// <summary>Largest arguments fragment per chunk (in UTF-16 units; a surrogate pair is never split).</summary>
    public const int FragmentLength = 32;


    public static byte[] Completion(string id, long created, string model, string? content, IReadOnlyList<ParsedToolCall> calls, TokenUsage usage)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("object"u8, "chat.completion"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("message"u8);
            w.WriteString("role"u8, "assistant"u8);
            if (string.IsNullOrEmpty(content)) w.WriteNull("content"u8);
            else w.WriteString("content"u8, content);
            w.WriteNull("refusal"u8);
            w.WriteStartArray("tool_calls"u8);
            foreach (var call in calls)
            {
                w.WriteStartObject();
                w.WriteString("id"u8, call.Id);
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, call.Name);
                w.WriteString("arguments"u8, call.Arguments);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            w.WriteString("finish_reason"u8, "tool_calls"u8);
            w.WriteEndObject();
            w.WriteEndArray();
            OpenAiChatJson.WriteUsage(w, usage);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The delta chunks for the calls, in order; the finish chunk is written separately.</summary>
    public static IEnumerable<byte[]> Chunks(string id, long created, string model, IReadOnlyList<ParsedToolCall> calls, bool includeUsageNull)
    {
        for (var i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            yield return Chunk(id, created, model, i, call.Id, call.Name, "", includeUsageNull);
            foreach (var fragment in Fragments(call.Arguments))
            {
                yield return Chunk(id, created, model, i, null, null, fragment, includeUsageNull);
            }
        }
    }

    public static IEnumerable<string> Fragments(string arguments)
    {
        for (var start = 0; start < arguments.Length;)
        {
            var length = Math.Min(FragmentLength, arguments.Length - start);
            if (length < arguments.Length - start && char.IsHighSurrogate(arguments[start + length - 1]))
            {
                length--;
            }
            yield return arguments.Substring(start, length);
            start += length;
        }
    }

    private static byte[] Chunk(string id, long created, string model, int index, string? callId, string? name, string arguments, bool includeUsageNull)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteString("object"u8, "chat.completion.chunk"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, model);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("delta"u8);
            w.WriteStartArray("tool_calls"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, index);
            if (callId is not null)
            {
                w.WriteString("id"u8, callId);
                w.WriteString("type"u8, "function"u8);
            }
            w.WriteStartObject("function"u8);
            if (name is not null) w.WriteString("name"u8, name);
            w.WriteString("arguments"u8, arguments);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            w.WriteNull("finish_reason"u8);
            w.WriteEndObject();
            w.WriteEndArray();
            if (includeUsageNull) w.WriteNull("usage"u8);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
