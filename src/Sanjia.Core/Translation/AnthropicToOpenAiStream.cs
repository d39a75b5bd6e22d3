using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Streaming;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Turns Anthropic stream events into OpenAI <c>chat.completion.chunk</c> payloads: the role chunk on
/// <c>message_start</c>; text, thinking (<c>reasoning_content</c>), signatures (<c>thinking_blocks</c>) and tool input
/// (<c>tool_calls[].function.arguments</c>) deltas as they come; the finish chunk on <c>message_delta</c>; the usage
/// chunk on <c>message_stop</c> when asked for. An <c>error</c> event throws a <see cref="GatewayException"/>.
/// One instance per stream.
/// </summary>
public sealed class AnthropicToOpenAiStream(string model, bool includeUsage, bool jsonToolEmulated, long created) : IStreamTranslator
{
    private string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private AnthropicUsage _usage = new();
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly HashSet<int> _jsonBlocks = [];
    private int _tools;
    // The text of the open thinking block: Anthropic streams it in deltas and the signature last, and the block must go
    // back to Anthropic whole and unmodified, so the signature chunk carries the whole block. Made on first use.
    private System.Text.StringBuilder? _thinking;

    public bool Finished { get; private set; }

    /// <summary>Anthropic's stream is complete at <c>message_stop</c>; nothing follows it.</summary>
    public bool EndsOnClose => false;

    public string EndMarker => "message_stop";

    public IReadOnlyList<byte[]> Close() => [];

    public TokenUsage Usage => AnthropicToOpenAiResponse.Usage(_usage);

    /// <summary>Translates one event's data into zero or more chunk payloads.</summary>
    public IReadOnlyList<byte[]> Translate(ReadOnlySpan<byte> data)
    {
        AnthropicStreamEvent? e;
        try
        {
            e = JsonSerializer.Deserialize(data, AnthropicResponseJsonContext.Default.AnthropicStreamEvent);
        }
        catch (JsonException)
        {
            e = null;
        }
        if (e?.Type is null)
        {
            throw new GatewayException(UpstreamErrors.MalformedChunk("The Anthropic backend sent a malformed stream event."));
        }
        switch (e.Type)
        {
            case "message_start":
                if (e.Message?.Id is { } id) _id = "chatcmpl-" + id;
                Merge(e.Message?.Usage);
                return [Chunk(w => { w.WriteString("role"u8, "assistant"u8); w.WriteString("content"u8, ""u8); }, null)];
            case "content_block_start" when e.ContentBlock is { } block:
                return BlockStart(e.Index, block);
            case "content_block_delta" when e.Delta is { } d:
                return BlockDelta(e.Index, d);
            case "message_delta":
                Merge(e.Usage);
                return e.Delta?.StopReason is { } stop ? [Chunk(null, AnthropicToOpenAiResponse.FinishReason(stop, jsonToolEmulated && _tools == 0))] : [];
            case "message_stop":
                Finished = true;
                return includeUsage ? [UsageChunk()] : [];
            case "error":
                var kind = e.Error?.Type switch
                {
                    "overloaded_error" => GatewayErrorKind.UpstreamOverloaded,
                    "rate_limit_error" => GatewayErrorKind.RateLimited,
                    _ => GatewayErrorKind.UpstreamFailed,
                };
                throw new GatewayException(UpstreamErrors.MidStream(kind, $"The Anthropic backend reported an error mid-stream: {e.Error?.Message}"));
            default:
                return []; // ping, content_block_stop, and event types added after this was written
        }
    }

    private IReadOnlyList<byte[]> BlockStart(int index, AnthropicBlock block)
    {
        switch (block.Type)
        {
            case "tool_use" when jsonToolEmulated && block.Name == OpenAiToAnthropicRequest.JsonToolName:
                _jsonBlocks.Add(index);
                return [];
            case "tool_use":
                var toolIndex = _tools++;
                _toolIndexByBlock[index] = toolIndex;
                return [Chunk(w =>
                {
                    w.WriteStartArray("tool_calls"u8);
                    w.WriteStartObject();
                    w.WriteNumber("index"u8, toolIndex);
                    w.WriteString("id"u8, block.Id);
                    w.WriteString("type"u8, "function"u8);
                    w.WriteStartObject("function"u8);
                    w.WriteString("name"u8, block.Name);
                    w.WriteString("arguments"u8, ""u8);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndArray();
                }, null)];
            case "redacted_thinking":
                return [Chunk(w => ThinkingBlocks(w, "redacted_thinking", null, null, block.Data), null)];
            case "text" when !string.IsNullOrEmpty(block.Text):
                return [Chunk(w => w.WriteString("content"u8, block.Text), null)];
            default:
                return [];
        }
    }

    private IReadOnlyList<byte[]> BlockDelta(int index, AnthropicStreamDelta d)
    {
        switch (d.Type)
        {
            case "text_delta" when !string.IsNullOrEmpty(d.Text):
                return [Chunk(w => w.WriteString("content"u8, d.Text), null)];
            case "thinking_delta" when !string.IsNullOrEmpty(d.Thinking):
                (_thinking ??= new()).Append(d.Thinking);
                return [Chunk(w => w.WriteString("reasoning_content"u8, d.Thinking), null)];
            case "signature_delta" when !string.IsNullOrEmpty(d.Signature):
                var whole = _thinking?.ToString() ?? "";
                _thinking?.Clear();
                return [Chunk(w => ThinkingBlocks(w, "thinking", whole, d.Signature, null), null)];
            case "input_json_delta" when !string.IsNullOrEmpty(d.PartialJson):
                if (_jsonBlocks.Contains(index))
                {
                    return [Chunk(w => w.WriteString("content"u8, d.PartialJson), null)];
                }
                if (!_toolIndexByBlock.TryGetValue(index, out var toolIndex)) return [];
                return [Chunk(w =>
                {
                    w.WriteStartArray("tool_calls"u8);
                    w.WriteStartObject();
                    w.WriteNumber("index"u8, toolIndex);
                    w.WriteStartObject("function"u8);
                    w.WriteString("arguments"u8, d.PartialJson);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndArray();
                }, null)];
            default:
                return [];
        }
    }

    private static void ThinkingBlocks(Utf8JsonWriter w, string type, string? thinking, string? signature, string? data)
    {
        w.WriteStartArray("thinking_blocks"u8);
        w.WriteStartObject();
        w.WriteString("type"u8, type);
        if (thinking is not null) w.WriteString("thinking"u8, thinking);
        if (signature is not null) w.WriteString("signature"u8, signature);
        if (data is not null) w.WriteString("data"u8, data);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private void Merge(AnthropicUsage? u)
    {
        if (u is null) return;
        _usage.InputTokens = u.InputTokens ?? _usage.InputTokens;
        _usage.OutputTokens = u.OutputTokens ?? _usage.OutputTokens;
        _usage.CacheReadInputTokens = u.CacheReadInputTokens ?? _usage.CacheReadInputTokens;
        _usage.CacheCreationInputTokens = u.CacheCreationInputTokens ?? _usage.CacheCreationInputTokens;
    }

    private byte[] Chunk(Action<Utf8JsonWriter>? delta, string? finishReason)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            Header(w);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, 0);
            w.WriteStartObject("delta"u8);
            delta?.Invoke(w);
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            if (finishReason is null) w.WriteNull("finish_reason"u8);
            else w.WriteString("finish_reason"u8, finishReason);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private byte[] UsageChunk()
    {
        var buffer = new ArrayBufferWriter<byte>(200);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            Header(w);
            w.WriteStartArray("choices"u8);
            w.WriteEndArray();
            AnthropicToOpenAiResponse.WriteUsage(w, Usage, _usage.CacheCreationInputTokens ?? 0);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private void Header(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, _id);
        w.WriteString("object"u8, "chat.completion.chunk"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("model"u8, model);
    }
}
