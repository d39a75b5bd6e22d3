using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Sanjia.Core.Metering;
using Sanjia.Core.Shadow;
using Sanjia.Core.Traffic;

namespace Sanjia.Storage.Postgres;

/// <summary>Shadow pairs in PostgreSQL (<c>shadow_pairs</c>), aliases matched case-insensitively as in SQLite.</summary>
public sealed class PostgresShadowStore(PostgresDatabase database) : IShadowStore
{
    private static JsonSerializerOptions Json => Sanjia.Core.Json.SanjiaJson.Stored;

    public async Task SaveAsync(ShadowPair pair, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("INSERT INTO shadow_pairs (alias, request_id, ts, score, pair) VALUES ($1, $2, $3, $4, $5)");
        cmd.Parameters.Add(new() { Value = pair.Alias });
        cmd.Parameters.Add(new() { Value = pair.RequestId });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(pair.Timestamp), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = (object?)pair.Score ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Double });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(pair, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ShadowPair>> ReadAsync(string alias, DateTimeOffset? since, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("SELECT pair FROM shadow_pairs WHERE lower(alias) = lower($1) AND ts >= $2 ORDER BY id LIMIT $3");
        cmd.Parameters.Add(new() { Value = alias });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(since ?? DateTimeOffset.MinValue), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = limit });
        var list = new List<ShadowPair>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(JsonSerializer.Deserialize<ShadowPair>(r.GetString(0), Json)!);
        return list;
    }
}

/// <summary>The body log in PostgreSQL (<c>body_log</c>), keyed by request id; a request logged again replaces its row, as in SQLite.</summary>
public sealed class PostgresBodyLogStore(PostgresDatabase database) : IBodyLogStore, IDeletableTraffic
{
    public string DataName => "body_log";

    public Task<long> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        PostgresDeletion.DeleteBatchedAsync(database, "body_log", "request_id", "ts < $1", PostgresDatabase.Utc(cutoff), cancellationToken);

    /// <summary>
    /// A key's rows by <c>key_id</c>; an end user's by the request's <c>user</c> (OpenAI) or <c>metadata.user_id</c>
    /// (Anthropic). Only bodies holding the id as text are parsed (<c>strpos</c> first, in a CASE, whose order
    /// PostgreSQL keeps); bodies are stored as the JSON the gateway parsed, so the cast does not fail.
    /// </summary>
    public Task<long> DeleteSubjectAsync(DataSubject subject, CancellationToken cancellationToken) => subject.Kind == DataSubjectKind.Key
        ? PostgresDeletion.DeleteBatchedAsync(database, "body_log", "request_id", "key_id = $1", subject.Id, cancellationToken)
        : PostgresDeletion.DeleteBatchedAsync(database, "body_log", "request_id", """
            CASE WHEN strpos(request, $1) > 0
                THEN coalesce(request::jsonb ->> 'user' = $1, false) OR coalesce(request::jsonb -> 'metadata' ->> 'user_id' = $1, false) ELSE false END
            """, subject.Id, cancellationToken);

    private const string Columns = "request_id, ts, model, key_id, deployment, endpoint, request, response, input_tokens, output_tokens, latency_ms, cost, currency";

    public async Task WriteAsync(IReadOnlyList<LoggedExchange> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0) return;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand($"""
            INSERT INTO body_log ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (request_id) DO UPDATE SET ts = EXCLUDED.ts, model = EXCLUDED.model, key_id = EXCLUDED.key_id,
                deployment = EXCLUDED.deployment, endpoint = EXCLUDED.endpoint, request = EXCLUDED.request, response = EXCLUDED.response,
                input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, latency_ms = EXCLUDED.latency_ms,
                cost = EXCLUDED.cost, currency = EXCLUDED.currency
            """, connection);
        NpgsqlDbType[] types = [NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text,
            NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Integer, NpgsqlDbType.Integer, NpgsqlDbType.Double, NpgsqlDbType.Numeric, NpgsqlDbType.Text];
        foreach (var t in types) cmd.Parameters.Add(new() { NpgsqlDbType = t });
        await cmd.PrepareAsync(cancellationToken).ConfigureAwait(false);
        foreach (var e in batch)
        {
            object?[] values = [e.RequestId, PostgresDatabase.Utc(e.Timestamp), e.Model, e.KeyId, e.Deployment, e.Endpoint, e.RequestBody, e.ResponseText,
                e.InputTokens, e.OutputTokens, e.LatencyMs, e.Cost, e.Currency];
            for (var i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<LoggedExchange>> ReadAsync(BodyLogQuery query, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand($"""
            SELECT {Columns} FROM body_log
            WHERE ($1::text IS NULL OR lower(model) = lower($1)) AND ($2::text IS NULL OR key_id = $2) AND ts >= $3 AND ts < $4
            ORDER BY ts, request_id COLLATE "C" LIMIT $5
            """);
        cmd.Parameters.Add(new() { Value = (object?)query.Model ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = (object?)query.KeyId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(query.Since ?? DateTimeOffset.MinValue), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(query.Until ?? DateTimeOffset.MaxValue), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = query.Limit });
        var list = new List<LoggedExchange>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new LoggedExchange
            {
                RequestId = r.GetString(0),
                Timestamp = r.GetFieldValue<DateTimeOffset>(1),
                Model = r.GetString(2),
                KeyId = r.IsDBNull(3) ? null : r.GetString(3),
                Deployment = r.IsDBNull(4) ? null : r.GetString(4),
                Endpoint = r.GetString(5),
                RequestBody = r.GetString(6),
                ResponseText = r.GetString(7),
                InputTokens = r.GetInt32(8),
                OutputTokens = r.GetInt32(9),
                LatencyMs = r.GetDouble(10),
                Cost = r.IsDBNull(11) ? null : r.GetDecimal(11),
                Currency = r.IsDBNull(12) ? null : r.GetString(12),
            });
        }
        return list;
    }
}
