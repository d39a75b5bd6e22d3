using System.Diagnostics;
using Sanjia.Abstractions;

namespace Sanjia.Core.Streaming;

/// <summary>Turns a vendor's event stream into OpenAI chunk payloads, one event at a time.</summary>
public interface IStreamTranslator
{
    /// <summary>The OpenAI chunks one upstream event becomes (often none, sometimes several).</summary>
    IReadOnlyList<byte[]> Translate(ReadOnlySpan<byte> eventData);

    /// <summary>The upstream has said its answer is complete.</summary>
    bool Finished { get; }

    TokenUsage Usage { get; }

    /// <summary>
    /// How a complete stream ends: by the event that sets <see cref="Finished"/> (Anthropic's <c>message_stop</c>),
    /// or by the upstream closing the stream after it (Gemini), in which case <see cref="Close"/> gives the last chunks.
    /// </summary>
    bool EndsOnClose { get; }

    /// <summary>What a complete stream ends with, for the error when it does not (e.g. <c>message_stop</c>).</summary>
    string EndMarker { get; }

    /// <summary>The chunks to send when a finished stream closes (e.g. the usage chunk).</summary>
    IReadOnlyList<byte[]> Close();
}

/// <summary>
/// A vendor's SSE stream read event by event through its <see cref="IStreamTranslator"/> and handed to the engine as
/// OpenAI chunks. A stream that ends before its end marker or breaks off fails as an upstream error; one that falls
/// silent is the router's to cut (its one stream-activity timeout cancels the read): the adapter runs no timer.
/// </summary>
public sealed class TranslatedStream(HttpResponseMessage response, Stream body, IStreamTranslator translator, string provider)
    : StreamingChatResponse
{
    private readonly SseLineReader _reader = new(body);
    private readonly Queue<byte[]> _pending = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private ReadOnlyMemory<byte> _current;
    private int _currentUsageEnd = -1;
    private bool _closed;

    public override ReadOnlyMemory<byte> Current => _current;

    public override int CurrentUsageEnd => _currentUsageEnd;

    public override TokenUsage Usage => translator.Usage;

    public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        while (_pending.Count == 0)
        {
            if (_closed || (translator.Finished && !translator.EndsOnClose)) return false;
            ReadOnlyMemory<byte>? data;
            try
            {
                data = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} broke off the stream: {ex.Message}") { Code = UpstreamErrorCodes.StreamInterrupted });
            }
            if (data is not { } payload)
            {
                if (!(translator.EndsOnClose && translator.Finished))
                {
                    throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} ended the stream before {translator.EndMarker}.") { Code = UpstreamErrorCodes.StreamInterrupted });
                }
                _closed = true;
                foreach (var chunk in translator.Close()) _pending.Enqueue(chunk);
                continue;
            }
            foreach (var chunk in translator.Translate(payload.Span)) _pending.Enqueue(chunk);
        }
        TimeToFirstChunk ??= Stopwatch.GetElapsedTime(_started);
        _current = _pending.Dequeue();
        // The translators write the usage chunk only once the upstream has finished: the chunks left after that
        // (one or two per stream) are scanned for it, the stream's other chunks never.
        _currentUsageEnd = translator.Finished ? Metering.UsageCost.FindUsageEnd(_current.Span) : -1;
        return true;
    }

    public override async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        response.Dispose();
    }
}
