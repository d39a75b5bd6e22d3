using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates a Gemini <c>GenerateContentResponse</c> into an OpenAI <c>chat.completion</c>: one choice per
/// candidate, thought parts → <c>reasoning_content</c>, text → <c>content</c>, <c>functionCall</c> parts →
/// <c>tool_calls</c> (thought signature kept in the id), <c>finishReason</c> mapped, <c>usageMetadata</c> → usage.
/// A prompt blocked before any candidate comes back as an empty answer with <c>finish_reason: content_filter</c>.
/// </summary>
public static class GeminiToOpenAiResponse
{
    public static (byte[]? Body, TokenUsage Usage, GatewayError? Error) Translate(ReadOnlySpan<byte> body, string model, long created)
    {
        GeminiResponse? r;
        try
        {
            r = JsonSerializer.Deserialize(body, GeminiJsonContext.Default.GeminiResponse);
        }
        catch (JsonException)
        {
            r = null;
        }
        if (r is null || (r.Candidates is null && r.PromptFeedback is null))
        {
            return (null, default, UpstreamErrors.ProtocolError("The Gemini backend returned a body that is not a GenerateContentResponse."));
        }
        var usage = GeminiJson.Usage(r.UsageMetadata);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, "chatcmpl-" + (r.ResponseId ?? Guid.NewGuid().ToString("N")));
            w.WriteString("object"u8, "chat.completion"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, r.ModelVersion ?? model);
            w.WriteStartArray("choices"u8);
            var candidates = r.Candidates ?? [new GeminiCandidate { FinishReason = "SAFETY" }];
            for (var i = 0; i < candidates.Count; i++)
            {
                var c = candidates[i];
                var parts = c.Content?.Parts ?? [];
                var calls = parts.Where(p => p.FunctionCall is not null).ToList();
                w.WriteStartObject();
                w.WriteNumber("index"u8, c.Index ?? i);
                w.WriteStartObject("message"u8);
                w.WriteString("role"u8, "assistant"u8);
                var text = string.Concat(parts.Where(p => p.Thought != true && p.Text is not null).Select(p => p.Text));
                if (text.Length > 0 || calls.Count == 0) w.WriteString("content"u8, text); else w.WriteNull("content"u8);
                w.WriteNull("refusal"u8);
                var thoughts = string.Concat(parts.Where(p => p.Thought == true).Select(p => p.Text));
                if (thoughts.Length > 0) w.WriteString("reasoning_content"u8, thoughts);
                // A signature on a text part (Gemini puts it on the last one) travels as a marked thinking block.
                if (parts.LastOrDefault(p => p.FunctionCall is null && !string.IsNullOrEmpty(p.ThoughtSignature)) is { } signed)
                {
                    GeminiJson.WriteTextSignatureBlock(w, thoughts, signed.ThoughtSignature!);
                }
                if (calls.Count > 0)
                {
                    w.WriteStartArray("tool_calls"u8);
                    foreach (var p in calls) WriteToolCall(w, p, index: null);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
                w.WriteNull("logprobs"u8);
                w.WriteString("finish_reason"u8, GeminiJson.FinishReason(c.FinishReason, calls.Count > 0));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            AnthropicToOpenAiResponse.WriteUsage(w, usage, 0);
            w.WriteEndObject();
        }
        return (buffer.WrittenSpan.ToArray(), usage, null);
    }

    internal static void WriteToolCall(Utf8JsonWriter w, GeminiPart p, int? index)
    {
        w.WriteStartObject();
        if (index is { } i) w.WriteNumber("index"u8, i);
        w.WriteString("id"u8, GeminiJson.ToolCallId(p.FunctionCall!.Id, p.ThoughtSignature));
        w.WriteString("type"u8, "function"u8);
        w.WriteStartObject("function"u8);
        w.WriteString("name"u8, p.FunctionCall.Name ?? "");
        w.WriteString("arguments"u8, p.FunctionCall.Args is { ValueKind: JsonValueKind.Object } a ? a.GetRawText() : "{}");
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
