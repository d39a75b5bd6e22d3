using System.Diagnostics;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Providers.Local;

/// <summary>
/// Streams a local generation as <c>chat.completion.chunk</c> payloads, one decode step per read: nothing is produced
/// ahead of the reader, so a slow or vanished client costs no memory, and disposing frees the context and the slot.
/// </summary>
internal sealed class LocalChatStream : StreamingChatResponse
{
    private enum State { Role, Content, Usage, Done }

    private readonly Generation _generation;
    private readonly string _id;
    private readonly long _created;
    private readonly string _model;
    private readonly bool _includeUsage;
    private readonly long _startTimestamp;
    private State _state;
    private ReadOnlyMemory<byte> _current;

    public LocalChatStream(Generation generation, string model, bool includeUsage, long created, long startTimestamp)
    {
        _generation = generation;
        _model = model;
        _includeUsage = includeUsage;
        _created = created;
        _startTimestamp = startTimestamp;
        _id = OpenAiChatJson.NewCompletionId();
    }

    public override ReadOnlyMemory<byte> Current => _current;

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
                var text = "";
                if (_generation.FinishReason is null)
                {
                    try
                    {
                        // Await the step itself rather than the token: the native context must not be freed under it.
                        text = await Task.Run(() => _generation.Step(cancellationToken), CancellationToken.None).ConfigureAwait(false);
                    }
                    catch
                    {
                        _generation.Dispose();
                        _state = State.Done;
                        throw;
                    }
                }
                TimeToFirstChunk ??= Stopwatch.GetElapsedTime(_startTimestamp);
                if (text.Length > 0)
                {
                    _current = OpenAiChatJson.Chunk(_id, _created, _model, 0, null, text, null, _includeUsage);
                    return true;
                }
                _generation.Dispose();
                _current = OpenAiChatJson.Chunk(_id, _created, _model, 0, null, null, _generation.FinishReason, _includeUsage);
                _state = _includeUsage ? State.Usage : State.Done;
                return true;

            case State.Usage:
                _current = OpenAiChatJson.UsageChunk(_id, _created, _model, _generation.Usage);
                _state = State.Done;
                return true;

            default:
                return false;
        }
    }

    public override ValueTask DisposeAsync()
    {
        _generation.Dispose();
        _state = State.Done;
        return ValueTask.CompletedTask;
    }
}
