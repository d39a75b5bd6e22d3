using System.Diagnostics;
using System.Threading.Channels;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Metering;
using Sanjia.Providers.Local.Tools;

namespace Sanjia.Providers.Local;

/// <summary>
/// Streams a local generation as <c>chat.completion.chunk</c> payloads. <see cref="Decode"/> runs on the
/// model's inference thread that started the generation, right after the stream is handed out, at most
/// <see cref="Ahead"/> tokens ahead of the reader (a slow or vanished client costs a few strings, no more), and hands
/// each token over with synchronous continuations: the reader's work (JSON, the socket write) runs right there on
/// the decoding thread, so a token costs no thread hand-off. Disposing stops decoding and frees the context and slot.
/// When tools are offered, a <see cref="ToolCallStreamFilter"/> holds back what may be a tool call; calls found at the
/// end are sent as tool-call deltas before the finish chunk (finish_reason "tool_calls").
/// </summary>
internal sealed class LocalChatStream : StreamingChatResponse
{
    private enum State { Role, Content, Tail, Usage, Done }

    private readonly Generation _generation;
    private readonly string _id;
    private readonly long _created;
    private readonly string _model;
    private readonly bool _includeUsage;
    private readonly long _startTimestamp;
    private readonly ToolCallStreamFilter? _tools;
    private readonly Queue<byte[]> _tail = new();
    private const int Ahead = 16;
    private State _state;
    private ReadOnlyMemory<byte> _current;
    private int _usageEnd = -1;
    private readonly Channel<string> _tokens = Channel.CreateBounded<string>(new BoundedChannelOptions(Ahead)
    {
        SingleReader = true,
        SingleWriter = true,
        AllowSynchronousContinuations = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _decoded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _decoding;
    private int _disposed;

    public LocalChatStream(Generation generation, string model, bool includeUsage, long created, long startTimestamp, ToolCallStreamFilter? tools = null)
    {
        _tools = tools;
        _generation = generation;
        _model = model;
        _includeUsage = includeUsage;
        _created = created;
        _startTimestamp = startTimestamp;
        _id = OpenAiChatJson.NewCompletionId();
    }

    public override ReadOnlyMemory<byte> Current => _current;

    /// <summary>Only the last chunk (the usage chunk) carries usage.</summary>
    public override int CurrentUsageEnd => _state == State.Done && _includeUsage ? _usageEnd : -1;

    public override TokenUsage Usage => _generation.Usage;

    public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        switch (_state)
        {
            case State.Role:
                cancellationToken.ThrowIfCancellationRequested();
                _current = OpenAiChatJson.Chunk(_id, _created, _model, 0, "assistant", "", null, _includeUsage);
                _state = State.Content;
                return true;

            case State.Content:
                string? text;
            read:
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var reader = _tokens.Reader;
                    if (!reader.TryRead(out text))
                    {
                        text = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && reader.TryRead(out var next) ? next : null;
                    }
                }
                catch (Exception ex)
                {
                    _stop.Cancel();
                    _generation.Dispose();
                    _state = State.Done;
                    if (ex is ChannelClosedException { InnerException: { } inner })
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
                    }
                    throw;
                }
                if (text is not null && _tools is not null)
                {
                    text = _tools.Push(text);
                    if (text.Length == 0)
                    {
                        goto read;
                    }
                }
                TimeToFirstChunk ??= Stopwatch.GetElapsedTime(_startTimestamp);
                if (text is not null)
                {
                    _current = OpenAiChatJson.Chunk(_id, _created, _model, 0, null, text, null, _includeUsage);
                    return true;
                }
                _generation.Dispose();
                var finishReason = _generation.FinishReason;
                if (_tools?.Complete() is { } answer)
                {
                    if (answer.Content.Length > 0)
                    {
                        _tail.Enqueue(OpenAiChatJson.Chunk(_id, _created, _model, 0, null, answer.Content, null, _includeUsage));
                    }
                    foreach (var chunk in ToolCallJson.Chunks(_id, _created, _model, answer.Calls, _includeUsage))
                    {
                        _tail.Enqueue(chunk);
                    }
                    if (answer.Calls.Count > 0)
                    {
                        finishReason = "tool_calls";
                    }
                }
                _tail.Enqueue(OpenAiChatJson.Chunk(_id, _created, _model, 0, null, null, finishReason, _includeUsage));
                _state = State.Tail;
                goto case State.Tail;

            case State.Tail:
                _current = _tail.Dequeue();
                if (_tail.Count == 0)
                {
                    _state = _includeUsage ? State.Usage : State.Done;
                }
                return true;

            case State.Usage:
                _current = OpenAiChatJson.UsageChunk(_id, _created, _model, _generation.Usage);
                _usageEnd = UsageCost.FindUsageEnd(_current.Span);
                _state = State.Done;
                return true;

            default:
                return false;
        }
    }

    /// <summary>
    /// Decodes into the bounded channel until the generation ends, fails or the stream is disposed; the channel
    /// completes (with the failure, if any) when it does. Runs once, on an inference thread; never throws.
    /// </summary>
    public void Decode()
    {
        if (Interlocked.Exchange(ref _decoding, 1) != 0)
        {
            return;
        }
        var writer = _tokens.Writer;
        try
        {
            var stop = _stop.Token;
            while (_generation.FinishReason is null)
            {
                var text = _generation.Step(stop);
                if (text.Length == 0)
                {
                    continue;
                }
                while (!writer.TryWrite(text))
                {
                    // The reader is Ahead tokens behind: wait for it (this is a dedicated thread).
                    if (!writer.WaitToWriteAsync(stop).AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }
                }
            }
            writer.TryComplete();
        }
        catch (Exception ex)
        {
            writer.TryComplete(ex);
        }
        finally
        {
            _decoded.TrySetResult();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stop.Cancel();
        if (Interlocked.Exchange(ref _decoding, 1) != 0)
        {
            // Let the decoding thread leave its step, so the context and the slot are free when this returns.
            // (Otherwise decoding never starts.)
            await _decoded.Task.ConfigureAwait(false);
        }
        _generation.Dispose();
        _state = State.Done;
        _stop.Dispose();
    }
}
