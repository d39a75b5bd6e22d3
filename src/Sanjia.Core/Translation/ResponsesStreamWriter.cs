using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Turns OpenAI <c>chat.completion.chunk</c> payloads into the Responses API's typed stream, in OpenAI's documented
/// order: <c>response.created</c>, <c>response.in_progress</c>, then per output item <c>response.output_item.added</c>,
/// its content (<c>response.content_part.added</c> / <c>response.output_text.delta</c>… / <c>.done</c> /
/// <c>response.content_part.done</c>, reasoning as <c>response.reasoning_text.*</c>, tool calls as
/// <c>response.function_call_arguments.delta</c>… / <c>.done</c>) and <c>response.output_item.done</c>; finally
/// <c>response.completed</c> (or <c>response.incomplete</c>). A failure is <c>response.failed</c>, never a completion.
/// Every event carries a <c>sequence_number</c>. One instance per stream; not thread-safe.
/// </summary>
public sealed class ResponsesStreamWriter(IBufferWriter<byte> output, ResponsesEnvelope envelope)
{
    private readonly List<ResponsesOutputItem> _items = [];
    private readonly System.Text.StringBuilder _thinkingSinceSignature = new();
    private ResponsesOutputItem? _open;
    private int _toolIndex = -1;
    private int _sequence;
    private string? _finishReason;
    private OpenAiUsage? _usage;
    private bool _started;

    public void Start()
    {
        _started = true;
        Write("response.created", w => WholeResponse(w, "in_progress", null));
        Write("response.in_progress", w => WholeResponse(w, "in_progress", null));
    }

    /// <summary>Translates one chunk payload. Chunks for choices other than the first are ignored (a Response has one).</summary>
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
        var reasoning = d.ReasoningContent;
        // A whole block (as the signature chunk carries it) repeats text already streamed as reasoning_content.
        if (string.IsNullOrEmpty(reasoning) && _thinkingSinceSignature.Length == 0 && d.ThinkingBlocks is { Count: > 0 } tb) reasoning = string.Concat(tb.Select(b => b.Thinking));
        if (!string.IsNullOrEmpty(reasoning) || d.ThinkingBlocks is { Count: > 0 })
        {
            var item = Open(ResponsesOutputItem.ItemKind.Reasoning, "rs");
            if (!string.IsNullOrEmpty(reasoning))
            {
                item.Text.Append(reasoning);
                _thinkingSinceSignature.Append(reasoning);
                Write("response.reasoning_text.delta", w => Part(w, item, reasoning));
            }
            foreach (var block in d.ThinkingBlocks ?? [])
            {
                // Streams send a thinking block's text as deltas and its signature last, alone: the block handed back
                // on the next turn must hold both, or the vendor rejects the signature.
                var whole = new OpenAiThinkingBlock { Type = block.Type, Thinking = block.Thinking, Signature = block.Signature, Data = block.Data };
                if (whole.Type == "thinking" && string.IsNullOrEmpty(whole.Thinking)) whole.Thinking = _thinkingSinceSignature.ToString();
                if (whole.Type == "thinking") _thinkingSinceSignature.Clear();
                item.Thinking.Add(whole);
            }
        }
        if (!string.IsNullOrEmpty(d.Content))
        {
            var item = Open(ResponsesOutputItem.ItemKind.Message, "msg");
            item.Text.Append(d.Content);
            Write("response.output_text.delta", w =>
            {
                Part(w, item, d.Content);
                w.WriteStartArray("logprobs"u8);
                w.WriteEndArray();
            });
        }
        if (!string.IsNullOrEmpty(d.Refusal))
        {
            var item = Open(ResponsesOutputItem.ItemKind.Message, "msg");
            item.Refusal = (item.Refusal ?? "") + d.Refusal;
            Write("response.refusal.delta", w => Part(w, item, d.Refusal));
        }
        foreach (var call in d.ToolCalls ?? [])
        {
            var index = call.Index ?? Math.Max(_toolIndex, 0);
            if (_open?.Kind != ResponsesOutputItem.ItemKind.FunctionCall || index != _toolIndex)
            {
                Close();
                _toolIndex = index;
                var item = new ResponsesOutputItem
                {
                    Kind = ResponsesOutputItem.ItemKind.FunctionCall,
                    Id = ResponsesJson.NewItemId("fc"),
                    CallId = call.Id ?? ResponsesJson.NewItemId("call"),
                    Name = call.Function?.Name ?? "",
                };
                Add(item);
            }
            var open = _open!;
            if (!string.IsNullOrEmpty(call.Function?.Arguments))
            {
                open.Arguments.Append(call.Function.Arguments);
                Write("response.function_call_arguments.delta", w =>
                {
                    w.WriteString("item_id"u8, open.Id);
                    w.WriteNumber("output_index"u8, _items.Count - 1);
                    w.WriteString("delta"u8, call.Function.Arguments);
                });
            }
        }
    }

    /// <summary>Closes the open item, then <c>response.completed</c> (or <c>response.incomplete</c>) with the whole response.</summary>
    /// <param name="cost">The gateway's cost extension for <c>response.usage</c> (docs/metering.md).</param>
    public void Finish(TokenUsage streamUsage, long completedAt, Cost? cost = null)
    {
        if (!_started) Start();
        Close();
        var usage = _usage ?? ResponsesJson.FromTokens(streamUsage);
        var (status, reason) = ResponsesJson.Status(_finishReason);
        Write(status == "completed" ? "response.completed" : "response.incomplete",
            w => WholeResponse(w, status, usage, reason, completedAt: status == "completed" ? completedAt : null, cost: cost));
    }

    /// <summary><c>response.failed</c> with what was produced so far: how a failure after the stream began is reported.</summary>
    public void Fail(GatewayError error)
    {
        if (!_started) Start();
        Close();
        Write("response.failed", w => WholeResponse(w, "failed", _usage, error: error));
    }

    private void WholeResponse(Utf8JsonWriter w, string status, OpenAiUsage? usage, string? reason = null, GatewayError? error = null, long? completedAt = null, Cost? cost = null)
    {
        w.WritePropertyName("response"u8);
        ResponsesJson.WriteResponse(w, envelope, status, _items, usage, reason, error, completedAt, cost);
    }

    private ResponsesOutputItem Open(ResponsesOutputItem.ItemKind kind, string prefix)
    {
        if (_open?.Kind == kind) return _open;
        Close();
        var item = new ResponsesOutputItem { Kind = kind, Id = ResponsesJson.NewItemId(prefix) };
        Add(item);
        if (kind == ResponsesOutputItem.ItemKind.Message)
        {
            Write("response.content_part.added", w =>
            {
                ItemRef(w, item);
                w.WritePropertyName("part"u8);
                ResponsesJson.WriteTextPart(w, "");
            });
        }
        else if (kind == ResponsesOutputItem.ItemKind.Reasoning)
        {
            Write("response.content_part.added", w =>
            {
                ItemRef(w, item);
                w.WritePropertyName("part"u8);
                ResponsesJson.WriteReasoningPart(w, "");
            });
        }
        return item;
    }

    private void Add(ResponsesOutputItem item)
    {
        _items.Add(item);
        _open = item;
        Write("response.output_item.added", w =>
        {
            w.WriteNumber("output_index"u8, _items.Count - 1);
            w.WritePropertyName("item"u8);
            ResponsesJson.WriteItem(w, item, "in_progress");
        });
    }

    private void Close()
    {
        if (_open is not { } item) return;
        _open = null;
        _toolIndex = -1;
        switch (item.Kind)
        {
            case ResponsesOutputItem.ItemKind.Message when item.Refusal is not null:
                Write("response.refusal.done", w =>
                {
                    ItemRef(w, item);
                    w.WriteString("refusal"u8, item.Refusal);
                });
                Write("response.content_part.done", w =>
                {
                    ItemRef(w, item);
                    w.WritePropertyName("part"u8);
                    ResponsesJson.WriteRefusalPart(w, item.Refusal);
                });
                break;
            case ResponsesOutputItem.ItemKind.Message:
                Write("response.output_text.done", w =>
                {
                    ItemRef(w, item);
                    w.WriteString("text"u8, item.Text.ToString());
                    w.WriteStartArray("logprobs"u8);
                    w.WriteEndArray();
                });
                Write("response.content_part.done", w =>
                {
                    ItemRef(w, item);
                    w.WritePropertyName("part"u8);
                    ResponsesJson.WriteTextPart(w, item.Text.ToString());
                });
                break;
            case ResponsesOutputItem.ItemKind.Reasoning:
                Write("response.reasoning_text.done", w =>
                {
                    ItemRef(w, item);
                    w.WriteString("text"u8, item.Text.ToString());
                });
                Write("response.content_part.done", w =>
                {
                    ItemRef(w, item);
                    w.WritePropertyName("part"u8);
                    ResponsesJson.WriteReasoningPart(w, item.Text.ToString());
                });
                break;
            case ResponsesOutputItem.ItemKind.FunctionCall:
                Write("response.function_call_arguments.done", w =>
                {
                    w.WriteString("item_id"u8, item.Id);
                    w.WriteString("name"u8, item.Name);
                    w.WriteNumber("output_index"u8, _items.IndexOf(item));
                    w.WriteString("arguments"u8, item.Arguments.ToString());
                });
                break;
        }
        Write("response.output_item.done", w =>
        {
            w.WriteNumber("output_index"u8, _items.IndexOf(item));
            w.WritePropertyName("item"u8);
            ResponsesJson.WriteItem(w, item, "completed");
        });
    }

    private void ItemRef(Utf8JsonWriter w, ResponsesOutputItem item)
    {
        w.WriteString("item_id"u8, item.Id);
        w.WriteNumber("output_index"u8, _items.IndexOf(item));
        w.WriteNumber("content_index"u8, 0);
    }

    private void Part(Utf8JsonWriter w, ResponsesOutputItem item, string delta)
    {
        ItemRef(w, item);
        w.WriteString("delta"u8, delta);
    }

    private void Write(string type, Action<Utf8JsonWriter> body)
    {
        var data = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(data, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, type);
            body(w);
            w.WriteNumber("sequence_number"u8, _sequence++);
            w.WriteEndObject();
        }
        output.Write("event: "u8);
        output.Write(System.Text.Encoding.UTF8.GetBytes(type));
        output.Write("\ndata: "u8);
        output.Write(data.WrittenSpan);
        output.Write("\n\n"u8);
    }
}
