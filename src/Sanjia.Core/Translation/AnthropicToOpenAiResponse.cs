using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates an Anthropic <c>message</c> into an OpenAI <c>chat.completion</c>: text joined into <c>content</c>,
/// thinking into <c>reasoning_content</c> plus <c>thinking_blocks</c> (signatures kept), <c>tool_use</c> into
/// <c>tool_calls</c>, the emulated JSON tool back into plain content, cache usage into <c>prompt_tokens_details</c>.
/// </summary>
public static class AnthropicToOpenAiResponse
{
    /// <param name="onlyJsonTool">The only tool called was the structured-output emulation, which is the answer.</param>
    public static string FinishReason(string? stopReason, bool onlyJsonTool) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => onlyJsonTool ? "stop" : "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    public static TokenUsage Usage(AnthropicUsage? u)
    {
        if (u is null) return default;
        var cacheRead = u.CacheReadInputTokens ?? 0;
        var cacheWrite = u.CacheCreationInputTokens ?? 0;
        return new TokenUsage((u.InputTokens ?? 0) + cacheRead + cacheWrite, u.OutputTokens ?? 0, cacheRead, CacheWrite: cacheWrite);
    }

    public static (byte[]? Body, TokenUsage Usage, GatewayError? Error) Translate(ReadOnlySpan<byte> body, bool jsonToolEmulated, long created)
    {
        AnthropicMessageResponse? m;
        try
        {
            m = JsonSerializer.Deserialize(body, AnthropicResponseJsonContext.Default.AnthropicMessageResponse);
        }
        catch (JsonException)
        {
            m = null;
        }
        if (m?.Content is null)
        {
            return (null, default, UpstreamErrors.ProtocolError("The Anthropic backend returned a body that is not a message."));
        }
        var usage = Usage(m.Usage);
        var cacheWrite = m.Usage?.CacheCreationInputTokens ?? 0;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("id"u8, "chatcmpl-" + (m.Id ?? Guid.NewGuid().ToString("N")));
            w.WriteString("object"u8, "chat.completion"u8);
            w.WriteNumber("created"u8, created);
            w.WriteString("model"u8, m.Model ?? "");
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("message"u8);
            w.WriteString("role"u8, "assistant"u8);
            var text = string.Concat(m.Content.Where(b => b.Type == "text").Select(b => b.Text));
            var tools = m.Content.Where(b => b.Type == "tool_use").ToList();
            if (jsonToolEmulated && tools.FirstOrDefault(b => b.Name == OpenAiToAnthropicRequest.JsonToolName) is { } json)
            {
                text = json.Input?.GetRawText() ?? "{}";
                tools.Remove(json);
            }
            if (text.Length > 0 || tools.Count == 0) w.WriteString("content"u8, text);
            else w.WriteNull("content"u8);
            w.WriteNull("refusal"u8);
            var thinking = m.Content.Where(b => b.Type is "thinking" or "redacted_thinking").ToList();
            if (thinking.Count > 0)
            {
                var reasoning = string.Concat(thinking.Select(b => b.Thinking));
                if (reasoning.Length > 0) w.WriteString("reasoning_content"u8, reasoning);
                w.WriteStartArray("thinking_blocks"u8);
                foreach (var b in thinking)
                {
                    w.WriteStartObject();
                    w.WriteString("type"u8, b.Type);
                    if (b.Type == "thinking")
                    {
                        w.WriteString("thinking"u8, b.Thinking ?? "");
                        w.WriteString("signature"u8, b.Signature ?? "");
                    }
                    else
                    {
                        w.WriteString("data"u8, b.Data ?? "");
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            AnthropicJson.WriteToolCalls(w, tools);
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            // The JSON tool alone is an answer; next to one of the caller's tools it is a tool-call turn.
            w.WriteString("finish_reason"u8, FinishReason(m.StopReason, jsonToolEmulated && tools.Count == 0));
            w.WriteEndObject();
            w.WriteEndArray();
            WriteUsage(w, usage, cacheWrite);
            w.WriteEndObject();
        }
        return (buffer.WrittenSpan.ToArray(), usage, null);
    }

    internal static void WriteUsage(Utf8JsonWriter w, TokenUsage usage, int cacheWrite)
    {
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, usage.Input);
        w.WriteNumber("completion_tokens"u8, usage.Output);
        w.WriteNumber("total_tokens"u8, usage.Input + usage.Output);
        w.WriteStartObject("prompt_tokens_details"u8);
        w.WriteNumber("cached_tokens"u8, usage.CachedInput);
        w.WriteNumber("cache_creation_tokens"u8, cacheWrite);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details"u8);
        w.WriteNumber("reasoning_tokens"u8, usage.Reasoning);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
