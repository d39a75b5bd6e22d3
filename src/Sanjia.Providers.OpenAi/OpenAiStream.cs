using System.Diagnostics;
using System.Text;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Streaming;
using Sanjia.Core.Tokens;

namespace Sanjia.Providers.OpenAi;

/// <summary>
/// An upstream OpenAI SSE stream passed through chunk by chunk. Usage comes from the upstream's usage chunk; when
/// the gateway asked for that chunk itself it is kept from the caller. Without it, usage is estimated from the
/// text seen. A stream that ends without <c>[DONE]</c>, breaks off, or carries a malformed chunk fails. A stream that
/// falls silent is the router's to cut (its one stream-activity timeout cancels the read): the adapter runs no timer.
/// </summary>
internal sealed class OpenAiStream : StreamingChatResponse
{
    private readonly HttpResponseMessage _response;
    private readonly SseLineReader _reader;
    private readonly ChatRequest _request;
    private readonly bool _hideUsageChunk;
    private readonly string _provider;
    private readonly StringBuilder _text = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private TokenUsage? _reported;
    private int? _promptTokens;
    private bool _produced;
    private ReadOnlyMemory<byte> _current;
    private int _currentUsageEnd = -1;
    private bool _done;

    public OpenAiStream(HttpResponseMessage response, Stream body, ChatRequest request, bool hideUsageChunk, string provider)
    {
        _response = response;
        _reader = new SseLineReader(body);
        _request = request;
        _hideUsageChunk = hideUsageChunk;
        _provider = provider;
    }

    public override ReadOnlyMemory<byte> Current => _current;

    public override int CurrentUsageEnd => _currentUsageEnd;

    // The prompt is counted once: metering reads the estimate every second while a stream runs (its in-flight line).
    public override TokenUsage Usage => _reported ?? new TokenUsage(
        _promptTokens ??= TokenCounter.CountPrompt(_request.PromptText), TokenCounter.Count(_text.ToString()), Estimated: true);

    public override bool UpstreamProduced => _produced;

    public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        if (_done) return false;
        while (true)
        {
            ReadOnlyMemory<byte>? data;
            try
            {
                data = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{_provider} broke off the stream: {ex.Message}") { Code = UpstreamErrorCodes.StreamInterrupted });
            }
            if (data is not { } payload)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{_provider} ended the stream before it finished.") { Code = UpstreamErrorCodes.StreamInterrupted });
            }
            var span = payload.Span;
            _produced = true;
            if (span.SequenceEqual("[DONE]"u8))
            {
                _done = true;
                return false;
            }
            var info = ChunkScanner.Scan(span, _text);
            if (!info.Valid)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{_provider} sent a malformed stream chunk.") { Code = UpstreamErrorCodes.MalformedChunk });
            }
            if (info.IsError)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{_provider} reported an error mid-stream: {Encoding.UTF8.GetString(span)}") { Code = UpstreamErrorCodes.Error });
            }
            TimeToFirstChunk ??= Stopwatch.GetElapsedTime(_started);
            if (info.Usage is { } usage)
            {
                _reported = usage;
                if (_hideUsageChunk && info.Choices <= 0)
                {
                    continue;
                }
            }
            _current = payload;
            _currentUsageEnd = info.Usage is null ? -1 : info.UsageEnd;
            return true;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        // Disposing the response closes the connection if the body was not read to the end: the upstream sees
        // the cancellation and stops generating (and billing).
        _response.Dispose();
    }
}
