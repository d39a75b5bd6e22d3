using Microsoft.Data.Sqlite;
using Sanjia.Core.Metering;
using Sanjia.Core.Traffic;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// The body log in its own table (<c>body_log</c>) of the traffic database, keyed by request id. <c>cost</c> and
/// <c>currency</c> are added to tables made before they existed (older rows read back as unpriced).
/// </summary>
public sealed class SqliteBodyLogStore(string databasePath) : SqliteTable(databasePath, "body_log", """
    CREATE TABLE IF NOT EXISTS body_log (
        request_id TEXT PRIMARY KEY,
        ts TEXT NOT NULL,
        model TEXT NOT NULL COLLATE NOCASE,
        key_id TEXT,
        deployment TEXT,
        endpoint TEXT NOT NULL,
        request TEXT NOT NULL,
        response TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        latency_ms REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS body_log_model_ts ON body_log (model, ts);
    """), IBodyLogStore, IDeletableTraffic
{
    /// <summary>Rows per DELETE, as for the ledger (<see cref="SqliteLedgerStore.DeleteBatch"/>): the write lock is held briefly.</summary>
    private const int DeleteBatch = SqliteLedgerStore.DeleteBatch;

    public string DataName => "body_log";

    public Task<long> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        DeleteBatchedAsync("ts < $v", Time(cutoff), cancellationToken);

    /// <summary>
    /// A key's rows by <c>key_id</c>; an end user's by the request's <c>user</c> (OpenAI) or <c>metadata.user_id</c>
    /// (Anthropic), read with SQLite's JSON functions; a body that is not JSON names no user.
    /// </summary>
    public Task<long> DeleteSubjectAsync(DataSubject subject, CancellationToken cancellationToken) => subject.Kind == DataSubjectKind.Key
        ? DeleteBatchedAsync("key_id = $v", subject.Id, cancellationToken)
        : DeleteBatchedAsync("""
            CASE WHEN instr(request, $v) > 0 AND json_valid(request)
                THEN coalesce(json_extract(request, '$.user') = $v, 0) OR coalesce(json_extract(request, '$.metadata.user_id') = $v, 0) ELSE 0 END
            """, subject.Id, cancellationToken);

    private async Task<long> DeleteBatchedAsync(string where, string value, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var n = await WithConnectionAsync(c =>
            {
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"DELETE FROM body_log WHERE rowid IN (SELECT rowid FROM body_log WHERE {where} LIMIT {DeleteBatch})";
                cmd.Parameters.AddWithValue("$v", value);
                return cmd.ExecuteNonQuery();
            }, cancellationToken).ConfigureAwait(false);
            total += n;
            if (n < DeleteBatch) return total;
        }
    }

    protected override void Migrate(SqliteConnection connection)
    {
        AddColumnIfMissing(connection, "body_log", "cost", "TEXT");
        AddColumnIfMissing(connection, "body_log", "currency", "TEXT");
    }

    public Task WriteAsync(IReadOnlyList<LoggedExchange> batch, CancellationToken cancellationToken) => WithConnectionAsync(c =>
    {
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT OR REPLACE INTO body_log (request_id, ts, model, key_id, deployment, endpoint, request, response, input_tokens, output_tokens, latency_ms, cost, currency)
            VALUES ($id, $ts, $model, $key, $dep, $ep, $req, $resp, $in, $out, $lat, $cost, $cur)
            """;
        var p = new[] { "$id", "$ts", "$model", "$key", "$dep", "$ep", "$req", "$resp", "$in", "$out", "$lat", "$cost", "$cur" }.Select(n => cmd.Parameters.Add(n, Microsoft.Data.Sqlite.SqliteType.Text)).ToArray();
        foreach (var e in batch)
        {
            object?[] values = [e.RequestId, Time(e.Timestamp), e.Model, e.KeyId, e.Deployment, e.Endpoint, e.RequestBody, e.ResponseText, e.InputTokens, e.OutputTokens, e.LatencyMs,
                e.Cost?.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Currency];
            for (var i = 0; i < p.Length; i++) p[i].Value = values[i] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
        return 0;
    }, cancellationToken);

    public Task<IReadOnlyList<LoggedExchange>> ReadAsync(BodyLogQuery query, CancellationToken cancellationToken) => WithConnectionAsync(c =>
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT request_id, ts, model, key_id, deployment, endpoint, request, response, input_tokens, output_tokens, latency_ms, cost, currency FROM body_log
            WHERE ($model IS NULL OR model = $model) AND ($key IS NULL OR key_id = $key) AND ts >= $since AND ts < $until
            ORDER BY ts, request_id LIMIT $n
            """;
        cmd.Parameters.AddWithValue("$model", (object?)query.Model ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$key", (object?)query.KeyId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$since", Time(query.Since ?? DateTimeOffset.MinValue));
        cmd.Parameters.AddWithValue("$until", Time(query.Until ?? DateTimeOffset.MaxValue));
        cmd.Parameters.AddWithValue("$n", query.Limit);
        using var r = cmd.ExecuteReader();
        var list = new List<LoggedExchange>();
        while (r.Read())
        {
            list.Add(new LoggedExchange
            {
                RequestId = r.GetString(0),
                Timestamp = DateTimeOffset.Parse(r.GetString(1), System.Globalization.CultureInfo.InvariantCulture),
                Model = r.GetString(2),
                KeyId = r.IsDBNull(3) ? null : r.GetString(3),
                Deployment = r.IsDBNull(4) ? null : r.GetString(4),
                Endpoint = r.GetString(5),
                RequestBody = r.GetString(6),
                ResponseText = r.GetString(7),
                InputTokens = r.GetInt32(8),
                OutputTokens = r.GetInt32(9),
                LatencyMs = r.GetDouble(10),
                Cost = r.IsDBNull(11) ? null : decimal.Parse(r.GetString(11), System.Globalization.CultureInfo.InvariantCulture),
                Currency = r.IsDBNull(12) ? null : r.GetString(12),
            });
        }
        return (IReadOnlyList<LoggedExchange>)list;
    }, cancellationToken);
}
