using System.Diagnostics;
using Sanjia.Abstractions;
using Sanjia.Core.Streaming;
using Sanjia.Core.Translation;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Anthropic;

/// <summary>An Anthropic event stream read event by event and handed to the engine as OpenAI chunks.</summary>
internal sealed class AnthropicChatStream(HttpResponseMessage response, Stream body, AnthropicToOpenAiStream translator, string provider, TimeSpan idleTimeout)
    : StreamingChatResponse
{
    private readonly SseLineReader _reader = new(body);
    private readonly Queue<byte[]> _pending = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private ReadOnlyMemory<byte> _current;

    public override ReadOnlyMemory<byte> Current => _current;

    public override TokenUsage Usage => translator.Usage;

    public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        while (_pending.Count == 0)
        {
            if (translator.Finished) return false;
            ReadOnlyMemory<byte>? data;
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(idleTimeout);
            try
            {
                data = await _reader.ReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new GatewayException(UpstreamHttp.Timeout(provider, $"no stream data for {idleTimeout.TotalSeconds:0.#} s"));
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} broke off the stream: {ex.Message}") { Code = "upstream_stream_interrupted" });
            }
            if (data is not { } payload)
            {
                throw new GatewayException(new GatewayError(GatewayErrorKind.UpstreamFailed, $"{provider} ended the stream before message_stop.") { Code = "upstream_stream_interrupted" });
            }
            foreach (var chunk in translator.Translate(payload.Span)) _pending.Enqueue(chunk);
        }
        TimeToFirstChunk ??= Stopwatch.GetElapsedTime(_started);
        _current = _pending.Dequeue();
        return true;
    }

    public override async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        response.Dispose();
    }
}
