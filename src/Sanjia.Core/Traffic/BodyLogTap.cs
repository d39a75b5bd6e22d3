using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pipeline.Taps;
using Sanjia.Core.Pricing;
using Sanjia.Core.Shadow;

namespace Sanjia.Core.Traffic;

/// <summary>
/// The opt-in body log (<c>Sanjia:Logging:Bodies</c>). On the request path: one <c>TryWrite</c> into a bounded channel
/// (a full channel drops and counts). A background writer stores batches in one transaction each, and drains the
/// channel at shutdown, like the ledger's writer. The answer's text is extracted off the request path.
/// </summary>
public sealed partial class BodyLogTap(IBodyLogStore store, int queueSize, ILogger<BodyLogTap> logger, Pricer? pricer = null) : BackgroundService, IChatTap
{
    private const int MaxBatch = 256;
    private readonly Channel<CompletedChat> _queue = Channel.CreateBounded<CompletedChat>(new BoundedChannelOptions(queueSize) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private long _dropped;
    private long _written;

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Written => Interlocked.Read(ref _written);

    // Shadow replays are the gateway's own traffic, not the callers'.
    public bool Wants(ChatContext context) => context.Endpoint != ShadowTap.Endpoint;

    public void Completed(CompletedChat chat)
    {
        if (!_queue.Writer.TryWrite(chat)) Interlocked.Increment(ref _dropped);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CompletedChat>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                await DrainAsync(batch).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: write what is queued so no answered request is lost from the log.
            await DrainAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task DrainAsync(List<CompletedChat> batch)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var chat)) batch.Add(chat);
            if (batch.Count == 0) return;
            try
            {
                await store.WriteAsync([.. batch.Select(ToExchange)], CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _written, batch.Count);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.Add(ref _dropped, batch.Count);
                LogWriteFailed(logger, batch.Count, e.GetType().Name);
            }
        }
    }

    private LoggedExchange ToExchange(CompletedChat c)
    {
        var cost = pricer?.CostOf(c.Provider, c.UpstreamModel, c.Usage) ?? Cost.Unpriced;
        return new()
        {
        RequestId = c.RequestId,
        Timestamp = c.Timestamp,
        Model = c.Model,
        KeyId = c.KeyId,
        Deployment = c.Deployment,
        Endpoint = c.Endpoint,
        RequestBody = Encoding.UTF8.GetString(c.RequestBody.Span),
        ResponseText = c.ResponseText(),
        InputTokens = c.Usage.Input,
        OutputTokens = c.Usage.Output,
        LatencyMs = c.LatencyMs,
        Cost = cost.Amount,
        Currency = cost.Currency,
        };
    }

    [LoggerMessage(EventId = LogEvents.BodyLogWriteFailed, Level = LogLevel.Error, Message = "Body log: {Count} exchanges could not be written ({Error})")]
    private static partial void LogWriteFailed(ILogger logger, int count, string error);
}
