using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Upstream;

/// <summary>
/// A provider's pooled connection to its vendor and the one upstream send (<see cref="SendAsync"/>). It counts its
/// users: the provider that owns it, and every call whose response is not yet done (a stream until it is disposed).
/// Disposing it only lets go of the owner's count; the handler, and with it the sockets, goes when the last
/// response is done. So a provider replaced by a configuration reload finishes its streams in flight on its own
/// connections and then closes them, instead of leaving a <see cref="SocketsHttpHandler"/> behind per reload.
/// </summary>
public sealed class UpstreamClient : IDisposable
{
    private readonly HttpMessageInvoker _http;
    private RefCount _users = new();
    private int _disposed;

    public UpstreamClient(TimeoutOptions timeouts, HttpMessageHandler? handler = null) => _http = UpstreamHttp.CreateInvoker(timeouts, handler);

    /// <summary>
    /// The one upstream send, for every kind of call: sends <paramref name="message"/> within the request timeout,
    /// turns a non-success status into the vendor's error (<see cref="IUpstreamExchange{TOutcome}.ErrorAsync"/>),
    /// hands a success to <paramref name="exchange"/> (whole body, or the open stream), and maps transport failures
    /// to <see cref="GatewayError"/> values: no answer in time, vendor unreachable, body broken off mid-read. The
    /// message is disposed afterwards, and the response too unless the exchange took it for a stream. The exchange
    /// is a struct so that a call costs no delegate or closure.
    /// </summary>
    public ValueTask<TOutcome> SendAsync<TExchange, TOutcome>(HttpRequestMessage message, TExchange exchange, string provider, TimeoutOptions timeouts, CancellationToken cancellationToken)
        where TExchange : struct, IUpstreamExchange<TOutcome>
    {
        if (!TryEnter())
        {
            // Only a caller that kept a provider past its configuration's last request gets here (e.g. a health probe
            // that read the old registry); a request holds its snapshot, and so its providers, until it is done.
            message.Dispose();
            return new(exchange.Fail(new GatewayError(GatewayErrorKind.UpstreamUnreachable,
                $"{provider} was replaced by a configuration reload.") { Code = UpstreamErrorCodes.Unreachable }));
        }
        return SendEnteredAsync<TExchange, TOutcome>(message, exchange, provider, timeouts, cancellationToken);
    }

    private async ValueTask<TOutcome> SendEnteredAsync<TExchange, TOutcome>(HttpRequestMessage message, TExchange exchange, string provider, TimeoutOptions timeouts, CancellationToken cancellationToken)
        where TExchange : struct, IUpstreamExchange<TOutcome>
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeouts.RequestSeconds));
        HttpResponseMessage? response = null;
        var streaming = false;
        try
        {
            response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return exchange.Fail(await exchange.ErrorAsync(response, timeout.Token).ConfigureAwait(false));
            }
            if (exchange.Streams)
            {
                if (exchange.RefuseStream(response) is { } refused)
                {
                    return exchange.Fail(refused);
                }
                var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                var streamed = exchange.Stream(response, new CallStream(body, this));
                response = null; // owned by the stream now, and this call's count with it
                streaming = true;
                return streamed;
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            return exchange.Complete(bytes);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return exchange.Fail(UpstreamErrors.Timeout(provider, $"no answer within {timeouts.RequestSeconds:0.#} s"));
        }
        // Once the headers are in, a broken connection is a body cut mid-read (HttpContent wraps the IOException in an
        // HttpRequestException), not an unreachable vendor: the vendor was reached, and may have billed the call.
        catch (Exception ex) when (ex is HttpRequestException or IOException && response is not null)
        {
            return exchange.Fail(UpstreamErrors.BrokeOff(provider, ex));
        }
        catch (HttpRequestException ex)
        {
            return exchange.Fail(UpstreamErrors.Unreachable(provider, message.RequestUri, ex));
        }
        catch (IOException ex)
        {
            return exchange.Fail(UpstreamErrors.BrokeOff(provider, ex));
        }
        finally
        {
            response?.Dispose();
            message.Dispose();
            if (!streaming) Exit();
        }
    }

    /// <summary>A call outside <see cref="SendAsync"/> (model lists); throws <see cref="ObjectDisposedException"/> once the handler is gone.</summary>
    public async Task<T> UseAsync<T>(Func<HttpMessageInvoker, Task<T>> call)
    {
        ObjectDisposedException.ThrowIf(!TryEnter(), this);
        try
        {
            return await call(_http).ConfigureAwait(false);
        }
        finally
        {
            Exit();
        }
    }

    private bool TryEnter() => _users.TryAdd();

    private void Exit()
    {
        if (_users.Release())
        {
            _http.Dispose();
        }
    }

    /// <summary>Lets go of the owner's count; the handler closes when the calls in flight are done.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Exit();
        }
    }

    /// <summary>A streamed response body that ends its call's count when the stream reading it is disposed.</summary>
    private sealed class CallStream(Stream inner, UpstreamClient client) : Stream
    {
        private int _ended;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _ended, 1) == 0)
            {
                inner.Dispose();
                client.Exit();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                await inner.DisposeAsync().ConfigureAwait(false);
                client.Exit();
            }
            GC.SuppressFinalize(this);
        }
    }
}
