using Npgsql;
using NpgsqlTypes;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// The ledger in PostgreSQL, shared by every gateway instance. Batches come from each instance's journal
/// (<c>JournaledLedger</c>, off the request path); each one is one multi-row <c>INSERT ... SELECT FROM unnest(...)</c>
/// (one array per column) with <c>ON CONFLICT DO NOTHING</c> on (request id, attempt, endpoint), so a journal replayed
/// after a kill, or a batch retried after its commit was not acknowledged, counts nothing twice. One round trip and
/// one statement for the rows however many there are.
/// </summary>
public sealed partial class PostgresLedgerStore(PostgresDatabase database) : ILedgerStore, ISpendSource, ILedgerQuery
{
    private const string Columns = """
        request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
        input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
        latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images, evaluation
        """;

    // One statement: the batch goes as one array per column and is unnested into rows. A single statement is atomic
    // on its own, needs no transaction and no staging table (creating and dropping one per batch cost PostgreSQL about
    // as much CPU as the inserts: catalog changes and a file per table). "ord" keeps the batch's order into the
    // identity column (ReadAsync lists rows in insertion order, as SQLite does).
    private const string AppendSql = $"""
        INSERT INTO ledger ({Columns})
        SELECT {Columns} FROM unnest(
            $1::text[], $2::integer[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::integer[], $11::integer[], $12::integer[], $13::integer[], $14::boolean[], $15::integer[], $16::text[],
            $17::double precision[], $18::double precision[], $19::boolean[], $20::numeric[], $21::text[], $22::integer[],
            $23::text[], $24::numeric[], $25::text[], $26::integer[], $27::boolean[])
            WITH ORDINALITY AS batch ({Columns}, ord)
        ORDER BY ord
        ON CONFLICT (request_id, attempt, endpoint) DO NOTHING
        """;

    public async Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0) return;
        var n = entries.Count;
        var requestIds = new string[n]; var attempts = new int[n]; var timestamps = new DateTime[n];
        var keyIds = new string?[n]; var teamIds = new string?[n]; var endpoints = new string[n]; var models = new string[n];
        var deployments = new string?[n]; var providers = new string?[n];
        var input = new int[n]; var cachedInput = new int[n]; var output = new int[n]; var reasoning = new int[n];
        var estimated = new bool[n]; var statuses = new int[n]; var errorCodes = new string?[n];
        var latencies = new double[n]; var ttfts = new double?[n]; var streams = new bool[n];
        var costs = new decimal?[n]; var currencies = new string?[n]; var cacheWrites = new int[n]; var cacheOf = new string?[n];
        var saved = new decimal?[n]; var guardrails = new string?[n]; var images = new int?[n]; var evaluation = new bool[n];
        for (var i = 0; i < n; i++)
        {
            var e = entries[i];
            requestIds[i] = e.RequestId; attempts[i] = e.Attempt; timestamps[i] = PostgresDatabase.Utc(e.Timestamp);
            keyIds[i] = e.KeyId; teamIds[i] = e.TeamId; endpoints[i] = e.Endpoint; models[i] = e.Model;
            deployments[i] = e.Deployment; providers[i] = e.Provider;
            input[i] = e.Usage.Input; cachedInput[i] = e.Usage.CachedInput; output[i] = e.Usage.Output; reasoning[i] = e.Usage.Reasoning;
            estimated[i] = e.Usage.Estimated; statuses[i] = e.Status; errorCodes[i] = e.ErrorCode;
            latencies[i] = e.LatencyMs; ttfts[i] = e.TimeToFirstTokenMs; streams[i] = e.Stream;
            costs[i] = e.Cost; currencies[i] = e.Currency; cacheWrites[i] = e.Usage.CacheWrite; cacheOf[i] = e.CacheOf;
            saved[i] = e.CostSaved; guardrails[i] = e.Guardrails; images[i] = e.Images; evaluation[i] = e.Evaluation;
        }
        await using var cmd = database.DataSource.CreateCommand(AppendSql);
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = requestIds });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = attempts });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = timestamps, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = keyIds });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = teamIds });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = endpoints });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = models });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = deployments });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = providers });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = input });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = cachedInput });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = output });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = reasoning });
        cmd.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = estimated });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = statuses });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = errorCodes });
        cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = latencies });
        cmd.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = ttfts });
        cmd.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = streams });
        cmd.Parameters.Add(new NpgsqlParameter<decimal?[]> { TypedValue = costs }); // exact, no float
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = currencies });
        cmd.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = cacheWrites });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = cacheOf });
        cmd.Parameters.Add(new NpgsqlParameter<decimal?[]> { TypedValue = saved });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = guardrails });
        cmd.Parameters.Add(new NpgsqlParameter<int?[]> { TypedValue = images });
        cmd.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = evaluation });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

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
                Evaluation = r.GetBoolean(26),
            });
            ids?.Add(r.GetInt64(27));
        }
        return list;
    }
}
