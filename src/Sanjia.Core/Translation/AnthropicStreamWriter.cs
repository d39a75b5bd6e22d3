using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Turns OpenAI <c>chat.completion.chunk</c> payloads into Anthropic's stream, event by event:
/// <c>message_start</c>, <c>ping</c>, then per content block <c>content_block_start</c> /
/// <c>content_block_delta</c>… / <c>content_block_stop</c>, then <c>message_delta</c> (stop reason, usage) and
/// <c>message_stop</c>. A block is opened when the kind of delta changes (reasoning → thinking block, content →
/// text block, tool calls → tool_use blocks with <c>input_json_delta</c>s) and closed before the next one opens, so
/// indexes match the final message's content array. Anthropic's blocks never interleave, but OpenAI's tool-call
/// deltas may (index 0, 1, 0): the first call streams live, later ones are held and sent whole when the live one
/// ends, so no call is split over two blocks. One instance per stream; not thread-safe.
/// </summary>
public sealed class AnthropicStreamWriter(IBufferWriter<byte> output, string model, string? messageId = null)
{
    private enum Block { None, Thinking, Text, ToolUse }

    private readonly string _messageId = messageId ?? AnthropicJson.NewMessageId();
    private Block _open = Block.None;
    private int _index = -1;
    private int _toolIndex = -1;
    private bool _reasoningStreamed;
    // Tool calls that arrived while another one was streaming, by OpenAI index; and the indexes already sent.
    private SortedDictionary<int, HeldCall>? _held;
    private HashSet<int>? _sentTools;

    private sealed class HeldCall
    {
        public string? Id;
        public string? Name;
        public readonly System.Text.StringBuilder Arguments = new();
    }
    private string? _finishReason;
    private OpenAiUsage? _usage;
    private bool _started;

    /// <summary><c>message_start</c> (input tokens as estimated so far; the final count comes in <c>message_delta</c>) and a <c>ping</c>.</summary>
    public void Start(int estimatedInputTokens)
    {
        _started = true;
        Write("message_start"u8, w =>
        {
            w.WriteString("type"u8, "message_start"u8);
            w.WriteStartObject("message"u8);
            w.WriteString("id"u8, _messageId);
            w.WriteString("type"u8, "message"u8);
            w.WriteString("role"u8, "assistant"u8);
            w.WriteString("model"u8, model);
            w.WriteStartArray("content"u8);
            w.WriteEndArray();
            w.WriteNull("stop_reason"u8);
            w.WriteNull("stop_sequence"u8);
            AnthropicJson.WriteUsage(w, new TokenUsage(estimatedInputTokens, 0), 0);
            w.WriteEndObject();
        });
        Write("ping"u8, w => w.WriteString("type"u8, "ping"u8));
    }

    /// <summary>Translates one chunk payload. Chunks for choices other than the first are ignored (Messages has one).</summary>
    public void Chunk(ReadOnlySpan<byte> payload)
    {
        OpenAiCompletion? chunk;
        try
        {
            chunk = JsonSerializer.Deserialize(payload, OpenAiWireJsonContext.Default.OpenAiCompletion);
        }
        catch (JsonException)
        {
            throw new GatewayException(UpstreamErrors.MalformedChunk("The backend sent a malformed stream chunk."));
        }
        if (chunk is null) return;
        if (chunk.Usage is not null) _usage = chunk.Usage;
        foreach (var choice in chunk.Choices ?? [])
        {
            if (choice.Index != 0) continue;
            if (choice.Delta is { } d) Delta(d);
            if (choice.FinishReason is not null) _finishReason = choice.FinishReason;
        }
    }

    private void Delta(OpenAiMessage d)
    {
        if (!string.IsNullOrEmpty(d.ReasoningContent))
        {
            Open(Block.Thinking);
            _reasoningStreamed = true;
            BlockDelta(w =>
            {
                w.WriteString("type"u8, "thinking_delta"u8);
                w.WriteString("thinking"u8, d.ReasoningContent);
            });
        }
        foreach (var tb in d.ThinkingBlocks ?? [])
        {
            if (tb.Type == "redacted_thinking")
            {
                Close();
                _index++;
                Write("content_block_start"u8, w =>
                {
                    w.WriteString("type"u8, "content_block_start"u8);
                    w.WriteNumber("index"u8, _index);
                    w.WriteStartObject("content_block"u8);
                    w.WriteString("type"u8, "redacted_thinking"u8);
                    w.WriteString("data"u8, tb.Data ?? "");
                    w.WriteEndObject();
                });
                _open = Block.Thinking;
                Close();
                continue;
            }
            // A whole block (as the signature chunk carries it) repeats text already streamed as reasoning_content.
            if (!string.IsNullOrEmpty(tb.Thinking) && !(_open == Block.Thinking && _reasoningStreamed))
            {
                Open(Block.Thinking);
                BlockDelta(w =>
                {
                    w.WriteString("type"u8, "thinking_delta"u8);
                    w.WriteString("thinking"u8, tb.Thinking);
                });
            }
            if (!string.IsNullOrEmpty(tb.Signature))
            {
                Open(Block.Thinking);
                BlockDelta(w =>
                {
                    w.WriteString("type"u8, "signature_delta"u8);
                    w.WriteString("signature"u8, tb.Signature);
                });
                // A signature ends its thinking block; further reasoning starts a new one.
                Close();
            }
        }
        if (!string.IsNullOrEmpty(d.Content ?? d.Refusal))
        {
            Open(Block.Text);
            BlockDelta(w =>
            {
                w.WriteString("type"u8, "text_delta"u8);
                w.WriteString("text"u8, d.Content ?? d.Refusal);
            });
        }
        foreach (var call in d.ToolCalls ?? [])
        {
            var index = call.Index ?? (_toolIndex < 0 ? 0 : _toolIndex);
            if (_open == Block.ToolUse && index != _toolIndex)
            {
                // Another call while one streams: hold it whole until the live one ends (it may continue).
                _held ??= [];
                if (!_held.TryGetValue(index, out var held)) _held[index] = held = new HeldCall();
                held.Id ??= call.Id;
                held.Name ??= call.Function?.Name;
                held.Arguments.Append(call.Function?.Arguments);
                continue;
            }
            if (_open != Block.ToolUse)
            {
                // A fragment of a call already sent cannot be added to its closed block; a new block for it would be
                // a tool_use without a name, which Anthropic's SDKs reject.
                if (_sentTools?.Contains(index) == true) continue;
                Close();
                _toolIndex = index;
                ToolUseStart(call.Id, call.Function?.Name);
            }
            if (!string.IsNullOrEmpty(call.Function?.Arguments)) InputDelta(call.Function.Arguments);
        }
    }

    private void ToolUseStart(string? id, string? name)
    {
        (_sentTools ??= []).Add(_toolIndex);
        _index++;
        _open = Block.ToolUse;
        Write("content_block_start"u8, w =>
        {
            w.WriteString("type"u8, "content_block_start"u8);
            w.WriteNumber("index"u8, _index);
            w.WriteStartObject("content_block"u8);
            w.WriteString("type"u8, "tool_use"u8);
            w.WriteString("id"u8, id ?? "toolu_" + Guid.NewGuid().ToString("N"));
            w.WriteString("name"u8, name ?? "");
            w.WriteStartObject("input"u8);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private void InputDelta(string partialJson) => BlockDelta(w =>
    {
        w.WriteString("type"u8, "input_json_delta"u8);
        w.WriteString("partial_json"u8, partialJson);
    });

    /// <summary>
    /// Closes the open block, then <c>message_delta</c> with the stop reason and final usage (with the gateway's
    /// <c>cost</c> extension when given), then <c>message_stop</c>.
    /// </summary>
    public void Finish(TokenUsage streamUsage, Cost? cost = null)
    {
        if (!_started) Start(streamUsage.Input);
        Close();
        var usage = _usage is null ? streamUsage : AnthropicJson.ToUsage(_usage, out _);
        var cacheCreation = _usage?.PromptDetails?.CacheCreationTokens ?? 0;
        Write("message_delta"u8, w =>
        {
            w.WriteString("type"u8, "message_delta"u8);
            w.WriteStartObject("delta"u8);
            w.WriteString("stop_reason"u8, AnthropicJson.StopReason(_finishReason));
            w.WriteNull("stop_sequence"u8);
            w.WriteEndObject();
            AnthropicJson.WriteUsage(w, usage, cacheCreation, cost: cost);
        });
        Write("message_stop"u8, w => w.WriteString("type"u8, "message_stop"u8));
    }

    /// <summary>An <c>error</c> event: how Anthropic reports a failure after the stream has begun.</summary>
    public void Error(GatewayError error)
    {
        var body = AnthropicJson.Error(error);
        WriteRaw("error"u8, body);
    }

    private void Open(Block kind)
    {
        if (_open == kind && kind != Block.ToolUse) return;
        Close();
        _index++;
        _open = kind;
        Write("content_block_start"u8, w =>
        {
            w.WriteString("type"u8, "content_block_start"u8);
            w.WriteNumber("index"u8, _index);
            w.WriteStartObject("content_block"u8);
            if (kind == Block.Thinking)
            {
                w.WriteString("type"u8, "thinking"u8);
                w.WriteString("thinking"u8, ""u8);
                w.WriteString("signature"u8, ""u8);
            }
            else
            {
                w.WriteString("type"u8, "text"u8);
                w.WriteString("text"u8, ""u8);
            }
            w.WriteEndObject();
        });
    }

    private void Close()
    {
        if (_open == Block.None) return;
        _open = Block.None;
        _toolIndex = -1;
        _reasoningStreamed = false;
        Write("content_block_stop"u8, w =>
        {
            w.WriteString("type"u8, "content_block_stop"u8);
            w.WriteNumber("index"u8, _index);
        });
        if (_held is { Count: > 0 } held)
        {
            // The live call has ended: the held ones follow, each whole, in index order.
            _held = null;
            foreach (var (index, call) in held)
            {
                _toolIndex = index;
                ToolUseStart(call.Id, call.Name);
                if (call.Arguments.Length > 0) InputDelta(call.Arguments.ToString());
                Close();
            }
        }
    }

    private void BlockDelta(Action<Utf8JsonWriter> delta) => Write("content_block_delta"u8, w =>
    {
        w.WriteString("type"u8, "content_block_delta"u8);
        w.WriteNumber("index"u8, _index);
        w.WriteStartObject("delta"u8);
        delta(w);
        w.WriteEndObject();
    });

    private void Write(ReadOnlySpan<byte> eventName, Action<Utf8JsonWriter> body)
    {
        var data = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(data, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        WriteRaw(eventName, data.WrittenSpan);
    }

    private void WriteRaw(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data)
    {
        output.Write("event: "u8);
        output.Write(eventName);
        output.Write("\ndata: "u8);
        output.Write(data);
        output.Write("\n\n"u8);
    }
}
