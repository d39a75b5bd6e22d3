using Npgsql;
using NpgsqlTypes;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// The ledger in PostgreSQL, shared by every gateway instance. Batches come from each instance's journal
/// (<c>JournaledLedger</c>, off the request path); each one is sent with binary COPY into a temporary staging table
/// and moved into <c>ledger</c> with <c>INSERT ... ON CONFLICT DO NOTHING</c> on (request id, attempt, endpoint), so a
/// journal replayed after a kill, or a batch retried after its commit was not acknowledged, counts nothing twice
/// (COPY itself has no conflict clause). One round trip for the rows however many there are.
/// </summary>
public sealed partial class PostgresLedgerStore(PostgresDatabase database) : ILedgerStore, ISpendSource, ILedgerQuery
{
    private const string Columns = """
        request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
        input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
        latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images
        """;

    public async Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0) return;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Dropped at commit: a pooled connection is reset when returned, so it could not be kept anyway. "ord" keeps
        // the batch's order into the identity column (ReadAsync lists rows in insertion order, as SQLite does).
        await PostgresDatabase.ExecuteAsync(connection, """
            CREATE TEMP TABLE ledger_staging (
                ord integer NOT NULL,
                request_id text NOT NULL, attempt integer NOT NULL, ts timestamptz NOT NULL,
                key_id text, team_id text, endpoint text NOT NULL, model text NOT NULL, deployment text, provider text,
                input_tokens integer NOT NULL, cached_input_tokens integer NOT NULL, output_tokens integer NOT NULL, reasoning_tokens integer NOT NULL,
                estimated boolean NOT NULL, status integer NOT NULL, error_code text,
                latency_ms double precision NOT NULL, ttft_ms double precision, stream boolean NOT NULL,
                cost numeric, currency text, cache_write_tokens integer NOT NULL, cache_of text, cost_saved numeric,
                guardrails text, images integer) ON COMMIT DROP
            """, cancellationToken).ConfigureAwait(false);
        await using (var copy = await connection.BeginBinaryImportAsync($"COPY ledger_staging (ord, {Columns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(i, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.RequestId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Attempt, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(PostgresDatabase.Utc(e.Timestamp), NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.KeyId, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.TeamId, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Endpoint, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Model, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.Deployment, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.Provider, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Usage.Input, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Usage.CachedInput, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Usage.Output, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Usage.Reasoning, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Usage.Estimated, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Status, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.ErrorCode, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.LatencyMs, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                if (e.TimeToFirstTokenMs is { } ttft) await copy.WriteAsync(ttft, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                else await copy.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Stream, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
                if (e.Cost is { } cost) await copy.WriteAsync(cost, NpgsqlDbType.Numeric, cancellationToken).ConfigureAwait(false); // exact, no float
                else await copy.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.Currency, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(e.Usage.CacheWrite, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.CacheOf, cancellationToken).ConfigureAwait(false);
                if (e.CostSaved is { } saved) await copy.WriteAsync(saved, NpgsqlDbType.Numeric, cancellationToken).ConfigureAwait(false);
                else await copy.WriteNullAsync(cancellationToken).ConfigureAwait(false);
                await WriteTextAsync(copy, e.Guardrails, cancellationToken).ConfigureAwait(false);
                if (e.Images is { } images) await copy.WriteAsync(images, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                else await copy.WriteNullAsync(cancellationToken).ConfigureAwait(false);
            }
            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        await PostgresDatabase.ExecuteAsync(connection, $"""
            INSERT INTO ledger ({Columns})
            SELECT {Columns} FROM ledger_staging ORDER BY ord
            ON CONFLICT (request_id, attempt, endpoint) DO NOTHING
            """, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken) =>
        value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

    public async Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand($"SELECT {Columns} FROM ledger WHERE ts >= $1 ORDER BY id LIMIT $2");
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(since), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = limit });
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<LedgerEntry>> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand($"SELECT {Columns} FROM ledger WHERE ts >= $1 AND ts < $2 ORDER BY id");
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(from), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(to), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    public async Task<decimal> SpentSinceAsync(string scope, string id, string currency, DateTimeOffset since, CancellationToken cancellationToken)
    {
        // numeric sums exactly; the partial indexes on (key_id, ts) and (team_id, ts) serve both forms.
        await using var cmd = database.DataSource.CreateCommand(scope == "team"
            ? "SELECT COALESCE(SUM(cost), 0) FROM ledger WHERE team_id = $1 AND currency = $2 AND ts >= $3 AND cost IS NOT NULL"
            : "SELECT COALESCE(SUM(cost), 0) FROM ledger WHERE key_id = $1 AND currency = $2 AND ts >= $3 AND cost IS NOT NULL");
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = currency });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(since), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return (decimal)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task<IReadOnlyList<LedgerEntry>> ReadEntriesAsync(NpgsqlCommand cmd, CancellationToken cancellationToken, List<long>? ids = null)
    {
        var list = new List<LedgerEntry>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new LedgerEntry
            {
                RequestId = r.GetString(0),
                Attempt = r.GetInt32(1),
                Timestamp = r.GetFieldValue<DateTimeOffset>(2),
                KeyId = r.IsDBNull(3) ? null : r.GetString(3),
                TeamId = r.IsDBNull(4) ? null : r.GetString(4),
                Endpoint = r.GetString(5),
                Model = r.GetString(6),
                Deployment = r.IsDBNull(7) ? null : r.GetString(7),
                Provider = r.IsDBNull(8) ? null : r.GetString(8),
                Usage = new TokenUsage(r.GetInt32(9), r.GetInt32(11), r.GetInt32(10), r.GetInt32(12), r.GetBoolean(13), r.GetInt32(21)),
                Status = r.GetInt32(14),
                ErrorCode = r.IsDBNull(15) ? null : r.GetString(15),
                LatencyMs = r.GetDouble(16),
                TimeToFirstTokenMs = r.IsDBNull(17) ? null : r.GetDouble(17),
                Stream = r.GetBoolean(18),
                Cost = r.IsDBNull(19) ? null : r.GetDecimal(19),
                Currency = r.IsDBNull(20) ? null : r.GetString(20),
                CacheOf = r.IsDBNull(22) ? null : r.GetString(22),
                CostSaved = r.IsDBNull(23) ? null : r.GetDecimal(23),
                Guardrails = r.IsDBNull(24) ? null : r.GetString(24),
                Images = r.IsDBNull(25) ? null : r.GetInt32(25),
            });
            ids?.Add(r.GetInt64(26));
        }
        return list;
    }
}
