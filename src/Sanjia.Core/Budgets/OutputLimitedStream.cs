using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Tokens;

namespace Sanjia.Core.Budgets;

/// <summary>
/// Holds a budgeted stream to the output tokens its budget hold was computed for (<c>max_tokens</c> × <c>n</c>, else
/// the model's maximum output), whether or not the vendor honours <c>max_tokens</c>. Each chunk's generated text
/// (content, reasoning, tool names and arguments) is counted with o200k, delta by delta (a few tokens each; counting
/// pieces apart never undercounts the whole), and usage the vendor reports in a chunk counts when it is higher. The
/// chunk that would take the count past the limit is not passed on: the client gets a <c>finish_reason: "length"</c>
/// chunk per choice instead (Anthropic clients: <c>stop_reason: "max_tokens"</c>; Responses: <c>incomplete</c>), then
/// the usage chunk when it asked for one, and the stream ends; the upstream read is closed at once, so the vendor
/// stops generating. Usage is what the upstream sent, the held-back chunk included. Only streams of keys with a budget
/// pay for the count (docs/metering.md, "What bounds a budget").
/// </summary>
internal sealed class OutputLimitedStream(StreamingChatResponse inner, int limit, ChatRequest request) : DelegatingStreamingChatResponse(inner)
{
    private readonly StringBuilder _delta = new();
    private int _output;
    private string? _id;
    private long _created;
    private string? _model;
    // After the cut: the chunks the gateway ends the stream with, in order.
    private Queue<byte[]>? _ending;
    private ReadOnlyMemory<byte> _current;
    private int _currentUsageEnd = -1;
    private bool _innerDisposed;

    public override ReadOnlyMemory<byte> Current => _current;
    public override int CurrentUsageEnd => _currentUsageEnd;

    /// <summary>Output tokens counted so far (what the limit is compared with).</summary>
    public int OutputTokens => _output;

    protected override async ValueTask<bool> MoveNextCoreAsync(CancellationToken cancellationToken)
    {
        if (_ending is not null)
        {
            return NextEnding();
        }
        if (!await Inner.MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        var chunk = Inner.Current;
        _currentUsageEnd = Inner.CurrentUsageEnd;
        if (_id is null) ReadEnvelope(chunk.Span);
        _delta.Clear();
        ChunkScanner.Scan(chunk.Span, _delta);
        foreach (var piece in _delta.GetChunks()) _output += TokenCounter.Count(piece.Span);
        if (_currentUsageEnd >= 0) _output = Math.Max(_output, Inner.Usage.Output); // the vendor's own count, when it gives one
        if (_output <= limit)
        {
            _current = chunk;
            return true;
        }
        await CutAsync().ConfigureAwait(false);
        return NextEnding();
    }

    /// <summary>Stops reading the upstream and queues the chunks that end the stream as a length-limited answer.</summary>
    private async ValueTask CutAsync()
    {
        _ending = new Queue<byte[]>();
        var id = _id ?? OpenAiChatJson.NewCompletionId();
        var model = _model ?? request.Model;
        for (var i = 0; i < Math.Max(1, request.N); i++)
        {
            _ending.Enqueue(OpenAiChatJson.Chunk(id, _created, model, i, null, null, "length", includeUsageNull: request.IncludeUsage));
        }
        // Closing the upstream response stops the vendor generating (and billing) more.
        _innerDisposed = true;
        await Inner.DisposeAsync().ConfigureAwait(false);
        if (request.IncludeUsage)
        {
            _ending.Enqueue(OpenAiChatJson.UsageChunk(id, _created, model, Inner.Usage));
        }
    }

    private bool NextEnding()
    {
        if (!_ending!.TryDequeue(out var chunk))
        {
            return false;
        }
        _current = chunk;
        _currentUsageEnd = _ending.Count == 0 && request.IncludeUsage ? Metering.UsageCost.FindUsageEnd(chunk) : -1;
        return true;
    }

    /// <summary>The stream's id, creation time and model, from its first chunk, for the chunks the gateway adds.</summary>
    private void ReadEnvelope(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8) && reader.Read() && reader.TokenType == JsonTokenType.String) _id = reader.GetString();
                else if (reader.ValueTextEquals("model"u8) && reader.Read() && reader.TokenType == JsonTokenType.String) _model = reader.GetString();
                else if (reader.ValueTextEquals("created"u8) && reader.Read() && reader.TokenType == JsonTokenType.Number) reader.TryGetInt64(out _created);
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // The adapter has already validated the chunk; nothing better to take from it.
        }
    }

    protected override ValueTask DisposeCoreAsync() => _innerDisposed ? ValueTask.CompletedTask : Inner.DisposeAsync();
}
