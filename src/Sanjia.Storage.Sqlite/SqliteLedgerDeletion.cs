using Sanjia.Core.Metering;

namespace Sanjia.Storage.Sqlite;

/// <summary>Retention and erasure of ledger rows (<see cref="IDeletableTraffic"/>). Ledger rows carry no end-user id.</summary>
public sealed partial class SqliteLedgerStore : IDeletableTraffic
{
    /// <summary>
    /// Rows per DELETE: the write lock is taken for one batch at a time (a few milliseconds), so a sweep of months of
    /// traffic never holds up the ledger writer for long.
    /// </summary>
    internal const int DeleteBatch = 5000;

    public string DataName => "ledger";

    public Task<long> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        DeleteBatchedAsync("ts < $v", Ts(cutoff), cancellationToken);

    public Task<long> DeleteSubjectAsync(DataSubject subject, CancellationToken cancellationToken) =>
        subject.Kind == DataSubjectKind.Key ? DeleteBatchedAsync("key_id = $v", subject.Id, cancellationToken) : Task.FromResult(0L);

    private async Task<long> DeleteBatchedAsync(string where, string value, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            int n;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                using var cmd = Open().CreateCommand();
                cmd.CommandText = $"DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE {where} LIMIT {DeleteBatch})";
                cmd.Parameters.AddWithValue("$v", value);
                n = cmd.ExecuteNonQuery();
            }
            finally
            {
                _gate.Release();
            }
            total += n;
            if (n < DeleteBatch) return total;
        }
    }
}
