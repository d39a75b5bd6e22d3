using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;

namespace Sanjia.Core.Metering;

/// <summary>
/// Takes ledger entries off the request path: <see cref="Record"/> only enqueues; a background loop writes them
/// to the store in batches and drains the queue at shutdown, so metering completes even when callers disconnect.
/// </summary>
public sealed partial class ChannelLedger(ILedgerStore store, ILogger<ChannelLedger> logger) : BackgroundService, ILedger
{
    private const int MaxBatch = 512;
    private readonly Channel<LedgerEntry> _queue = Channel.CreateUnbounded<LedgerEntry>(new UnboundedChannelOptions { SingleReader = true });
    private long _pending;

    /// <summary>Entries accepted but not yet stored.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    public void Record(LedgerEntry entry)
    {
        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(entry))
        {
            Interlocked.Decrement(ref _pending);
            LogDropped(logger, entry.RequestId);
        }
    }

    /// <summary>Waits until everything recorded so far is stored (tests, reports that must be exact).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        while (Pending > 0)
        {
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LedgerEntry>(MaxBatch);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                await DrainAsync(batch).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // The loop stopped waiting; store whatever arrived before the writer closed.
        await DrainAsync(new List<LedgerEntry>(MaxBatch)).ConfigureAwait(false);
    }

    private async Task DrainAsync(List<LedgerEntry> batch)
    {
        var reader = _queue.Reader;
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var e))
            {
                batch.Add(e);
            }
            if (batch.Count == 0)
            {
                return;
            }
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await store.AppendAsync(batch, CancellationToken.None).ConfigureAwait(false);
                    break;
                }
                catch (Exception ex) when (attempt < 5)
                {
                    LogRetry(logger, ex, batch.Count, attempt);
                    await Task.Delay(100 * attempt).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    LogLost(logger, ex, batch.Count);
                    break;
                }
            }
            Interlocked.Add(ref _pending, -batch.Count);
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Ledger queue closed; entry for request {RequestId} not recorded")]
    private static partial void LogDropped(ILogger logger, string requestId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Writing {Count} ledger entries failed (attempt {Attempt}); retrying")]
    private static partial void LogRetry(ILogger logger, Exception ex, int count, int attempt);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Critical, Message = "Writing {Count} ledger entries failed after retries")]
    private static partial void LogLost(ILogger logger, Exception ex, int count);
}
