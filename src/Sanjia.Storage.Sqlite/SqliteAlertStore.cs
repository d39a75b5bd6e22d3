using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;
using Sanjia.Core.Alerts;
using Sanjia.Core.Security;

namespace Sanjia.Storage.Sqlite;

/// <summary>
/// Fired budget alerts in SQLite, beside the keys and teams they concern (<c>sanjia.db</c>, its own migration
/// component <c>alerts</c>). The primary key is the alert's id, one per crossing and period, so a claim is an
/// <c>INSERT OR IGNORE</c>: a restarted gateway finds what it already sent. Alerts are rare: no batching.
/// </summary>
public sealed class SqliteAlertStore : IAlertStore, IDisposable
{
    private readonly SqliteStoreConnection _db;

    public SqliteAlertStore(string databasePath) => _db = new(databasePath, "alerts", Migrations);

    internal static readonly IReadOnlyList<SqliteMigration> Migrations = [new(1, "budget alerts", c => SqliteMigrations.Execute(c, """
        CREATE TABLE IF NOT EXISTS budget_alerts (
            id TEXT PRIMARY KEY,
            fired_at TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            delivery TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT,
            record TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_budget_alerts_fired ON budget_alerts(fired_at);
        """))];

    public async Task<bool> TryClaimAsync(BudgetAlert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        await _db.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = _db.Open().CreateCommand();
            cmd.CommandText = """
                INSERT OR IGNORE INTO budget_alerts (id, fired_at, scope_id, delivery, attempts, last_error, record)
                VALUES ($id, $ts, $scope, $delivery, $attempts, $error, $record)
                """;
            cmd.Parameters.AddWithValue("$id", alert.Id);
            cmd.Parameters.AddWithValue("$ts", alert.FiredAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            cmd.Parameters.AddWithValue("$scope", alert.ScopeId);
            cmd.Parameters.AddWithValue("$delivery", alert.Delivery);
            cmd.Parameters.AddWithValue("$attempts", alert.Attempts);
            cmd.Parameters.AddWithValue("$error", (object?)alert.LastError ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$record", JsonSerializer.Serialize(alert, AlertStoreJson.Default.BudgetAlert));
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        finally
        {
            _db.Gate.Release();
        }
    }

    public async Task RecordDeliveryAsync(string id, string delivery, int attempts, string? lastError, CancellationToken cancellationToken)
    {
        await _db.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = _db.Open().CreateCommand();
            cmd.CommandText = "UPDATE budget_alerts SET delivery = $delivery, attempts = $attempts, last_error = $error WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$delivery", delivery);
            cmd.Parameters.AddWithValue("$attempts", attempts);
            cmd.Parameters.AddWithValue("$error", (object?)lastError ?? DBNull.Value);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _db.Gate.Release();
        }
    }

    public async Task<IReadOnlyList<BudgetAlert>> ListAsync(string? scopeId, int limit, CancellationToken cancellationToken)
    {
        await _db.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = _db.Open().CreateCommand();
            var where = new SqliteWhere(cmd);
            where.Add("scope_id = $scope", "$scope", scopeId);
            cmd.Parameters.AddWithValue("$limit", Math.Max(limit, 0));
            cmd.CommandText = $"SELECT record, delivery, attempts, last_error FROM budget_alerts WHERE {where} ORDER BY fired_at DESC, json_extract(record, '$.Percent') DESC, id LIMIT $limit";
            var list = new List<BudgetAlert>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                list.Add(JsonSerializer.Deserialize(r.GetString(0), AlertStoreJson.Default.BudgetAlert)! with
                {
                    Delivery = r.GetString(1), Attempts = r.GetInt32(2), LastError = r.IsDBNull(3) ? null : r.GetString(3),
                });
            }
            return list;
        }
        finally
        {
            _db.Gate.Release();
        }
    }

    public void Dispose() => _db.Dispose();
}
