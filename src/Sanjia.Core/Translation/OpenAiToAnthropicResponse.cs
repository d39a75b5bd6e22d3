using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates an OpenAI <c>chat.completion</c> into an Anthropic <c>message</c>: thinking blocks first (from
/// <c>thinking_blocks</c>, else <c>reasoning_content</c>), then text, then one <c>tool_use</c> block per tool call.
/// </summary>
public static class OpenAiToAnthropicResponse
{
    /// <param name="model">The model id the client asked for (echoed back, as Anthropic does).</param>
    public static (byte[]? Body, GatewayError? Error) Translate(ReadOnlySpan<byte> completion, string model, TokenUsage fallbackUsage)
    {
        OpenAiCompletion? c;
        try
        {
            c = JsonSerializer.Deserialize(completion, OpenAiWireJsonContext.Default.OpenAiCompletion);
        }
        catch (JsonException)
        {
            c = null;
        }
        if (c?.Choices is not { Count: > 0 } choices || choices[0].Message is not { } message)
        {
            return (null, UpstreamErrors.ProtocolError("The backend returned a completion without a message."));
        }
        var usage = c.Usage is null ? fallbackUsage : AnthropicJson.ToUsage(c.Usage, out _);
        var cacheCreation = c.Usage?.PromptDetails?.CacheCreationTokens ?? 0;

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, AnthropicJson.NewMessageId());
            w.WriteString("type"u8, "message"u8);
            w.WriteString("role"u8, "assistant"u8);
            w.WriteString("model"u8, model);
            w.WriteStartArray("content"u8);
            WriteThinking(w, message);
            var text = message.Content ?? message.Refusal;
            if (!string.IsNullOrEmpty(text))
            {
                w.WriteStartObject();
                w.WriteString("type"u8, "text"u8);
                w.WriteString("text"u8, text);
                w.WriteEndObject();
            }
            foreach (var call in message.ToolCalls ?? [])
            {
                w.WriteStartObject();
                w.WriteString("type"u8, "tool_use"u8);
                w.WriteString("id"u8, call.Id ?? "toolu_" + Guid.NewGuid().ToString("N"));
                w.WriteString("name"u8, call.Function?.Name ?? "");
                w.WritePropertyName("input"u8);
                WriteArguments(w, call.Function?.Arguments);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("stop_reason"u8, AnthropicJson.StopReason(choices[0].FinishReason));
            w.WriteNull("stop_sequence"u8);
            AnthropicJson.WriteUsage(w, usage, cacheCreation);
            w.WriteEndObject();
        }
        return (buffer.WrittenSpan.ToArray(), null);
    }

    private static void WriteThinking(Utf8JsonWriter w, OpenAiMessage message)
    {
        if (message.ThinkingBlocks is { Count: > 0 } blocks)
        {
            foreach (var b in blocks)
            {
                w.WriteStartObject();
                if (b.Type == "redacted_thinking")
                {
                    w.WriteString("type"u8, "redacted_thinking"u8);
                    w.WriteString("data"u8, b.Data ?? "");
                }
                else
                {
                    w.WriteString("type"u8, "thinking"u8);
                    w.WriteString("thinking"u8, b.Thinking ?? "");
                    w.WriteString("signature"u8, b.Signature ?? "");
                }
                w.WriteEndObject();
            }
        }
        else if (!string.IsNullOrEmpty(message.ReasoningContent))
        {
            // Reasoning from a non-Anthropic model has no signature; an empty one tells Anthropic backends it is not theirs.
            w.WriteStartObject();
            w.WriteString("type"u8, "thinking"u8);
            w.WriteString("thinking"u8, message.ReasoningContent);
            w.WriteString("signature"u8, ""u8);
            w.WriteEndObject();
        }
    }

    /// <summary>Tool arguments are a JSON string in OpenAI and an object in Anthropic; invalid JSON is kept as a string field.</summary>
    internal static void WriteArguments(Utf8JsonWriter w, string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            w.WriteStartObject();
            w.WriteEndObject();
            return;
        }
        try
        {
            using var doc = JsonDocument.Parse(arguments);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                doc.RootElement.WriteTo(w);
                return;
            }
        }
        catch (JsonException)
        {
        }
        w.WriteStartObject();
        w.WriteString("arguments"u8, arguments);
        w.WriteEndObject();
    }
}
