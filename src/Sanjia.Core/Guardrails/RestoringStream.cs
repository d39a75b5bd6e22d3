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
internal sealed class RestoringStream(StreamingChatResponse inner, Redactions redactions, HoldBack holdBack) : ContentStream(inner, holdBack)
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
/// How long a stream may hold text back: <see cref="Max"/> bounds the time any held character waits (null: no time
/// bound, only the stage's own character bound), measured with <see cref="Time"/>.
/// </summary>
internal readonly record struct HoldBack(TimeSpan? Max, TimeProvider Time);

/// <summary>
/// A stream whose chunks' <c>delta.content</c> a stage rewrites, per choice, holding back a tail when it must see
/// more before it can decide (<see cref="Transform"/>). What is held is flushed with the choice's
/// <c>finish_reason</c> chunk (in a chunk just before it when it has no content of its own), or in a chunk of its own
/// when the upstream ends without one, or when it has waited <see cref="HoldBack.Max"/>: then the stage decides on
/// what it has (<see cref="Transform"/> with <c>finished</c>) and it goes out in a chunk of its own while the upstream
/// is silent. Chunks <see cref="MayNeedRewrite"/> rules out while nothing is held pass through untouched.
/// </summary>
internal abstract class ContentStream(StreamingChatResponse inner, HoldBack holdBack) : DelegatingStreamingChatResponse(inner)
{
    /// <summary>Whether a chunk may need rewriting when nothing is held (false: it passes through unread).</summary>
    protected abstract bool MayNeedRewrite(ReadOnlySpan<byte> chunk);

    /// <summary>Rewrites a choice's text (what was held plus the new content): returns what to send now and holds the rest.</summary>
    /// <exception cref="GatewayException">To end the stream with the protocol's error event (an output check that blocks).</exception>
    protected abstract string Transform(int index, string text, bool finished, out string held);

    private readonly List<string> _pending = [];
    /// <summary>Per choice: characters of content received so far, and when the chunks ending at each count arrived (oldest first, only those still held).</summary>
    private readonly List<(long Received, Queue<(long End, long At)> Arrivals)> _clock = [];
    private ReadOnlyMemory<byte> _current;
    private bool _rewritten;
    private ReadOnlyMemory<byte>? _queued;
    private byte[]? _lastId;
    private byte[]? _lastModel;
    private bool _flushedAtEnd;
    /// <summary>A read of the upstream still running when the hold-back's time ran out: the next read awaits it.</summary>
    private Task<bool>? _move;

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
        bool moved;
        if (holdBack.Max is { } max && Oldest() is { } oldest)
        {
            var wait = max - holdBack.Time.GetElapsedTime(oldest);
            if (wait > TimeSpan.Zero)
            {
                _move ??= Inner.MoveNextAsync(cancellationToken).AsTask();
                if (!_move.IsCompleted)
                {
                    using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    var delay = Task.Delay(wait, holdBack.Time, timer.Token);
                    var first = await Task.WhenAny(_move, delay).ConfigureAwait(false);
                    await timer.CancelAsync().ConfigureAwait(false);
                    if (first != _move) cancellationToken.ThrowIfCancellationRequested();
                }
            }
            if (_move is null || !_move.IsCompleted)
            {
                // Held for as long as allowed while the upstream is silent: decide on what is here and send it.
                (_current, _rewritten) = (Synthetic(TakeAllPending()), true);
                return true;
            }
        }
        if (_move is { } pending)
        {
            _move = null;
            moved = await pending.ConfigureAwait(false);
        }
        else
        {
            moved = await Inner.MoveNextAsync(cancellationToken).ConfigureAwait(false);
        }
        if (!moved)
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

    /// <summary>A read left running when the stream is disposed: observed, so its failure is not left unobserved.</summary>
    protected override ValueTask OnDisposedAsync(StreamEnd end)
    {
        _move?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return ValueTask.CompletedTask;
    }

    /// <summary>When the longest-held character still held arrived (null: nothing held).</summary>
    private long? Oldest()
    {
        long? oldest = null;
        for (var i = 0; i < _pending.Count; i++)
        {
            if (_pending[i].Length == 0 || i >= _clock.Count) continue;
            var (received, arrivals) = _clock[i];
            // The held text is the tail: its first character is the one received at (received - held).
            var first = received - _pending[i].Length;
            while (arrivals.Count > 1 && arrivals.Peek().End <= first) arrivals.Dequeue();
            if (arrivals.Count > 0 && (oldest is null || arrivals.Peek().At < oldest)) oldest = arrivals.Peek().At;
        }
        return oldest;
    }

    /// <summary>Notes when a choice's content arrived, for the time bound.</summary>
    private void Arrived(int index, int length)
    {
        if (holdBack.Max is null || length == 0) return;
        while (_clock.Count <= index) _clock.Add((0, new Queue<(long, long)>()));
        var (received, arrivals) = _clock[index];
        received += length;
        arrivals.Enqueue((received, holdBack.Time.GetTimestamp()));
        _clock[index] = (received, arrivals);
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
            if (i < _clock.Count) _clock[i].Arrivals.Clear();
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
            Arrived(c.Index, c.Content?.Length ?? 0);
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
