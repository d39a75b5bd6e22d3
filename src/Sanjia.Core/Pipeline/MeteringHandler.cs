using Sanjia.Abstractions;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// Writes one ledger entry per request: at once for complete answers and errors, and when a stream is disposed
/// (ended, failed or abandoned by the client) for streams, with the usage counted up to that point.
/// </summary>
public sealed class MeteringHandler(ChatHandler inner, ILedger ledger, TimeProvider time) : DelegatingChatHandler(inner)
{
    private readonly TimeProvider _time = time;

    public override async ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
    {
        ChatOutcome outcome;
        try
        {
            outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Record(context, default, status: 499, "client_closed_request", ttft: null).ConfigureAwait(false);
            throw;
        }
        switch (outcome.Response)
        {
            case CompleteChatResponse complete:
                // Durable before the endpoint writes the body: a response the client got is never missing from the ledger.
                await Record(context, complete.Usage, 200, null, ttft: null).ConfigureAwait(false);
                return outcome;
            case StreamingChatResponse stream:
                return new MeteredStream(stream, this, context);
            default:
                var error = outcome.Error!;
                await Record(context, default, ErrorStatus.For(error), error.Code ?? error.Kind.ToString(), ttft: null).ConfigureAwait(false);
                return outcome;
        }
    }

    private ValueTask Record(ChatContext context, TokenUsage usage, int status, string? errorCode, TimeSpan? ttft)
    {
        var deployment = context.Deployment;
        return ledger.RecordDurableAsync(new LedgerEntry
        {
            RequestId = context.RequestId,
            Attempt = Math.Max(1, context.Attempts),
            Timestamp = _time.GetUtcNow(),
            KeyId = context.Caller.KeyId,
            TeamId = context.Caller.TeamId,
            Endpoint = context.Endpoint,
            Model = context.Model.RequestedId,
            Deployment = deployment?.Id,
            Provider = deployment?.Provider.Name,
            Usage = usage,
            Status = status,
            ErrorCode = errorCode,
            LatencyMs = _time.GetElapsedTime(context.StartTimestamp).TotalMilliseconds,
            TimeToFirstTokenMs = ttft?.TotalMilliseconds,
            Stream = context.Request.Stream,
        });
    }

    /// <summary>Passes the stream through and meters it exactly once, however it ends.</summary>
    private sealed class MeteredStream(StreamingChatResponse inner, MeteringHandler owner, ChatContext context) : StreamingChatResponse
    {
        private GatewayError? _failure;
        private TimeSpan? _ttft;
        private bool _completed;
        private int _recorded;

        public override ReadOnlyMemory<byte> Current => inner.Current;
        public override TokenUsage Usage => inner.Usage;

        public override async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
        {
            try
            {
                var more = await inner.MoveNextAsync(cancellationToken).ConfigureAwait(false);
                if (more && _ttft is null)
                {
                    _ttft = owner._time.GetElapsedTime(context.StartTimestamp);
                    TimeToFirstChunk = _ttft;
                }
                _completed = !more;
                if (!more && Interlocked.Exchange(ref _recorded, 1) == 0)
                {
                    // The stream ended: record before the caller writes the final [DONE], so it is durable first.
                    await owner.Record(context, inner.Usage, 200, null, _ttft).ConfigureAwait(false);
                }
                return more;
            }
            catch (GatewayException ex)
            {
                _failure = ex.Error;
                if (Interlocked.Exchange(ref _recorded, 1) == 0)
                {
                    await owner.Record(context, inner.Usage, ErrorStatus.For(ex.Error), ex.Error.Code ?? ex.Error.Kind.ToString(), _ttft).ConfigureAwait(false);
                }
                throw;
            }
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            if (Interlocked.Exchange(ref _recorded, 1) == 0)
            {
                var (status, code) = _failure is not null ? (ErrorStatus.For(_failure), _failure.Code ?? _failure.Kind.ToString())
                    : _completed ? (200, (string?)null) : (499, "client_closed_request");
                await owner.Record(context, inner.Usage, status, code, _ttft).ConfigureAwait(false);
            }
        }
    }
}
