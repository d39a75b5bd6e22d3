using Npgsql;
using Sanjia.Core.Metering;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// Deletes in batches (<see cref="Batch"/> rows per statement, each its own transaction): a sweep of months of traffic
/// never holds row locks or a long transaction against the instances writing meanwhile.
/// </summary>
internal static class PostgresDeletion
{
    internal const int Batch = 5000;

    /// <summary>
    /// Runs <c>DELETE FROM table WHERE key IN (SELECT key FROM table WHERE where LIMIT Batch)</c> until a batch deletes
    /// fewer rows; <paramref name="where"/> uses the single parameter <c>$1</c>.
    /// </summary>
    public static async Task<long> DeleteBatchedAsync(PostgresDatabase database, string table, string key, string where, object value, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            await using var cmd = database.DataSource.CreateCommand($"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} LIMIT {Batch})");
            cmd.Parameters.Add(new NpgsqlParameter { Value = value });
            var n = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += n;
            if (n < Batch) return total;
        }
    }
}

/// <summary>Retention and erasure of ledger rows (<see cref="IDeletableTraffic"/>). Ledger rows carry no end-user id.</summary>
public sealed partial class PostgresLedgerStore : IDeletableTraffic
{
    public string DataName => "ledger";

    public Task<long> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        PostgresDeletion.DeleteBatchedAsync(database, "ledger", "id", "ts < $1", PostgresDatabase.Utc(cutoff), cancellationToken);

    public Task<long> DeleteSubjectAsync(DataSubject subject, CancellationToken cancellationToken) => subject.Kind == DataSubjectKind.Key
        ? PostgresDeletion.DeleteBatchedAsync(database, "ledger", "id", "key_id = $1", subject.Id, cancellationToken)
        : Task.FromResult(0L);
}
