using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// A streamed answer to a redacted request, with the placeholders restored in each chunk's <c>delta.content</c>. A
/// placeholder split across chunks (<c>[EMA</c> + <c>IL_1]</c>) is held back, at most the longest placeholder's
/// length, until it completes or turns out to be something else. Chunks that hold neither a placeholder nor the
/// start of one pass through untouched.
/// </summary>
internal sealed class RestoringStream(StreamingChatResponse inner, Redactions redactions) : ContentStream(inner)
{
    protected override bool MayNeedRewrite(ReadOnlySpan<byte> chunk) => MayHoldPlaceholder(chunk);

    protected override string Transform(int index, string text, bool finished, out string held)
    {
        var hold = finished ? text.Length : redactions.HoldFrom(text);
        held = text[hold..];
        return redactions.Restore(text[..hold]);
    }

    /// <summary>'[' followed by an upper-case letter, or closing a string (a placeholder's first character at a chunk's end).</summary>
    private static bool MayHoldPlaceholder(ReadOnlySpan<byte> chunk)
    {
        var from = 0;
        while (true)
        {
            var i = chunk[from..].IndexOf((byte)'[');
            if (i < 0 || from + i + 1 >= chunk.Length) return false;
            var next = chunk[from + i + 1];
            if (next is (>= (byte)'A' and <= (byte)'Z') or (byte)'"') return true;
            from += i + 1;
        }
    }
}

/// <summary>
/// A stream whose chunks' <c>delta.content</c> a stage rewrites, per choice, holding back a tail when it must see
/// more before it can decide (<see cref="Transform"/>). What is held is flushed with the choice's
/// <c>finish_reason</c> chunk (in a chunk just before it when it has no content of its own), or in a chunk of its own
/// when the upstream ends without one. Chunks <see cref="MayNeedRewrite"/> rules out while nothing is held pass
/// through untouched.
/// </summary>
internal abstract class ContentStream(StreamingChatResponse inner) : DelegatingStreamingChatResponse(inner)
{
    /// <summary>Whether a chunk may need rewriting when nothing is held (false: it passes through unread).</summary>
    protected abstract bool MayNeedRewrite(ReadOnlySpan<byte> chunk);

    /// <summary>Rewrites a choice's text (what was held plus the new content): returns what to send now and holds the rest.</summary>
    /// <exception cref="GatewayException">To end the stream with the protocol's error event (an output check that blocks).</exception>
    protected abstract string Transform(int index, string text, bool finished, out string held);

    private readonly List<string> _pending = [];
    private ReadOnlyMemory<byte> _current;
    private bool _rewritten;
    private ReadOnlyMemory<byte>? _queued;
    private byte[]? _lastId;
    private byte[]? _lastModel;
    private bool _flushedAtEnd;

    public override ReadOnlyMemory<byte> Current => _rewritten ? _current : Inner.Current;

    public override int CurrentUsageEnd => _rewritten ? -1 : Inner.CurrentUsageEnd;

    protected override async ValueTask<bool> MoveNextCoreAsync(CancellationToken cancellationToken)
    {
        if (_queued is { } queued)
        {
            _queued = null;
            (_current, _rewritten) = (queued, true);
            return true;
        }
        if (!await Inner.MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            // The upstream ended without a finish_reason for a choice that still holds text: give it its own chunk.
            if (!_flushedAtEnd && AnyPending())
            {
                _flushedAtEnd = true;
                (_current, _rewritten) = (Synthetic(TakeAllPending()), true);
                return true;
            }
            return false;
        }
        var chunk = Inner.Current;
        _rewritten = false;
        if (!AnyPending() && !MayNeedRewrite(chunk.Span)) return true;
        Rewrite(chunk.Span);
        return true;
    }

    private bool AnyPending()
    {
        foreach (var p in _pending)
        {
            if (p.Length > 0) return true;
        }
        return false;
    }

    private string PendingOf(int index) => index < _pending.Count ? _pending[index] : "";

    private void SetPending(int index, string text)
    {
        while (_pending.Count <= index) _pending.Add("");
        _pending[index] = text;
    }

    private List<(int Index, string Text)> TakeAllPending()
    {
        var all = new List<(int, string)>();
        for (var i = 0; i < _pending.Count; i++)
        {
            if (_pending[i].Length > 0) all.Add((i, Transform(i, _pending[i], finished: true, out _)));
            _pending[i] = "";
        }
        return all;
    }

    private void Rewrite(ReadOnlySpan<byte> chunk)
    {
        var choices = Parse(chunk);
        ArrayBufferWriter<byte>? output = null;
        var copied = 0;
        List<(int, string)>? flushFirst = null;
        foreach (var c in choices)
        {
            var combined = PendingOf(c.Index) + (c.Content ?? "");
            string emit = "", held = "";
            if (combined.Length > 0 || c.Finished) emit = Transform(c.Index, combined, c.Finished, out held);
            SetPending(c.Index, c.Finished ? "" : held);
            if (c.ContentStart >= 0)
            {
                output ??= new ArrayBufferWriter<byte>(chunk.Length + 64);
                output.Write(chunk[copied..c.ContentStart]);
                output.Write(Redactions.QuotedJson(emit));
                copied = c.ContentStart + c.ContentLength;
            }
            else if (emit.Length > 0)
            {
                (flushFirst ??= []).Add((c.Index, emit));
            }
        }
        var rewritten = chunk.ToArray();
        if (output is not null)
        {
            output.Write(chunk[copied..]);
            rewritten = output.WrittenSpan.ToArray();
        }
        if (flushFirst is not null)
        {
            // A finish chunk with no content of its own: the held text goes out in a chunk just before it.
            _queued = rewritten;
            (_current, _rewritten) = (Synthetic(flushFirst), true);
            return;
        }
        (_current, _rewritten) = (rewritten, true);
    }

    private readonly record struct Choice(int Index, int ContentStart, int ContentLength, string? Content, bool Finished);

    private List<Choice> Parse(ReadOnlySpan<byte> chunk)
    {
        var list = new List<Choice>(1);
        var reader = new Utf8JsonReader(chunk);
        int index = 0, start = -1, length = 0;
        string? content = null;
        bool finished = false, inChoices = false, inDelta = false;
        string? property = null;
        while (reader.Read())
        {
            var depth = reader.CurrentDepth;
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    property = reader.GetString();
                    if (depth == 1) inChoices = property == "choices";
                    if (depth == 1 && property is "id" or "model")
                    {
                        if (!reader.Read() || reader.TokenType != JsonTokenType.String) continue;
                        var raw = chunk.Slice((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2).ToArray();
                        if (property == "id") _lastId = raw; else _lastModel = raw;
                    }
                    continue;
                case JsonTokenType.StartObject when inChoices && depth == 2:
                    (index, start, length, content, finished) = (0, -1, 0, null, false);
                    continue;
                case JsonTokenType.StartObject when inChoices && depth == 3 && property == "delta":
                    inDelta = true;
                    continue;
                case JsonTokenType.EndObject when inChoices && depth == 3 && inDelta:
                    inDelta = false;
                    continue;
                case JsonTokenType.EndObject when inChoices && depth == 2:
                    list.Add(new(index, start, length, content, finished));
                    continue;
                case JsonTokenType.Number when inChoices && depth == 3 && property == "index":
                    index = reader.GetInt32();
                    continue;
                case JsonTokenType.String when inChoices && depth == 3 && property == "finish_reason":
                    finished = true;
                    continue;
                case JsonTokenType.String when inChoices && depth == 4 && inDelta && property == "content":
                    (start, length, content) = ((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2, reader.GetString());
                    continue;
                default:
                    continue;
            }
        }
        return list;
    }

    private byte[] Synthetic(List<(int Index, string Text)> texts)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        buffer.Write("{\"id\":"u8);
        buffer.Write(_lastId ?? "\"\""u8.ToArray());
        buffer.Write(",\"object\":\"chat.completion.chunk\",\"model\":"u8);
        buffer.Write(_lastModel ?? "\"\""u8.ToArray());
        buffer.Write(",\"choices\":["u8);
        for (var i = 0; i < texts.Count; i++)
        {
            if (i > 0) buffer.Write(","u8);
            buffer.Write("{\"index\":"u8);
            buffer.Write(System.Text.Encoding.ASCII.GetBytes(texts[i].Index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            buffer.Write(",\"delta\":{\"content\":"u8);
            buffer.Write(Redactions.QuotedJson(texts[i].Text));
            buffer.Write("},\"finish_reason\":null}"u8);
        }
        buffer.Write("]}"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
