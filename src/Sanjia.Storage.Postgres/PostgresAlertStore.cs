using System.Text.Json;
using NpgsqlTypes;
using Sanjia.Abstractions;
using Sanjia.Core.Alerts;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// Fired budget alerts in PostgreSQL (table <c>budget_alerts</c>), shared by every instance: a claim is an insert
/// that does nothing when the crossing's id is there, so of several instances that see the same crossing one sends it.
/// </summary>
public sealed class PostgresAlertStore(PostgresDatabase database) : IAlertStore
{
    public const string Schema = """
        CREATE TABLE budget_alerts (
            id text PRIMARY KEY,
            fired_at timestamptz NOT NULL,
            scope_id text NOT NULL,
            delivery text NOT NULL, attempts integer NOT NULL, last_error text,
            record jsonb NOT NULL);
        CREATE INDEX ix_budget_alerts_fired ON budget_alerts (fired_at);
        """;

    public async Task<bool> TryClaimAsync(BudgetAlert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        await using var cmd = database.DataSource.CreateCommand("""
            INSERT INTO budget_alerts (id, fired_at, scope_id, delivery, attempts, last_error, record)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING
            """);
        cmd.Parameters.Add(new() { Value = alert.Id });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(alert.FiredAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = alert.ScopeId });
        cmd.Parameters.Add(new() { Value = alert.Delivery });
        cmd.Parameters.Add(new() { Value = alert.Attempts });
        cmd.Parameters.Add(new() { Value = (object?)alert.LastError ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(alert, AlertStoreJson.Default.BudgetAlert), NpgsqlDbType = NpgsqlDbType.Jsonb });
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task RecordDeliveryAsync(string id, string delivery, int attempts, string? lastError, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("UPDATE budget_alerts SET delivery = $2, attempts = $3, last_error = $4 WHERE id = $1");
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = delivery });
        cmd.Parameters.Add(new() { Value = attempts });
        cmd.Parameters.Add(new() { Value = (object?)lastError ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<BudgetAlert>> ListAsync(string? scopeId, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("""
            SELECT record::text, delivery, attempts, last_error FROM budget_alerts
            WHERE ($1::text IS NULL OR scope_id = $1) ORDER BY fired_at DESC, (record->>'Percent')::int DESC, id COLLATE "C" LIMIT $2
            """);
        cmd.Parameters.Add(new() { Value = (object?)scopeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = Math.Max(limit, 0) });
        var list = new List<BudgetAlert>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(JsonSerializer.Deserialize(r.GetString(0), AlertStoreJson.Default.BudgetAlert)! with
            {
                Delivery = r.GetString(1), Attempts = r.GetInt32(2), LastError = r.IsDBNull(3) ? null : r.GetString(3),
            });
        }
        return list;
    }
}
