using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Metering;

/// <summary>
/// Applies the retention settings (<c>Sanjia:Storage:Retention</c>): at start and then every
/// <see cref="RetentionOptions.SweepMinutes"/>, deletes ledger rows and logged bodies older than their number of days.
/// Registered only when a retention is set, so the default gateway runs no timer. Every instance of a deployment sweeps
/// on its own; the deletes are idempotent, so they need no coordination. A failed sweep (the database away) is logged
/// and tried again at the next tick.
/// </summary>
public sealed partial class RetentionSweep(IReadOnlyList<(IDeletableTraffic Store, int Days)> retained, TimeSpan interval, TimeProvider time, ILogger<RetentionSweep> logger)
    : BackgroundService
{
    /// <summary>Runs one sweep now; returns the rows deleted per store.</summary>
    public async Task<IReadOnlyDictionary<string, long>> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (store, days) in retained)
        {
            var n = await store.DeleteOlderThanAsync(now.AddDays(-days), cancellationToken).ConfigureAwait(false);
            deleted[store.DataName] = n;
            if (n > 0) LogSwept(logger, n, store.DataName, days);
        }
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailed(logger, ex); // the next tick tries again
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async ValueTask<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = LogEvents.RetentionSwept, Level = LogLevel.Information, Message = "Retention: deleted {Count} {Data} rows older than {Days} days")]
    private static partial void LogSwept(ILogger logger, long count, string data, int days);

    [LoggerMessage(EventId = LogEvents.RetentionFailed, Level = LogLevel.Warning, Message = "Retention sweep failed; trying again at the next one")]
    private static partial void LogFailed(ILogger logger, Exception ex);
}
