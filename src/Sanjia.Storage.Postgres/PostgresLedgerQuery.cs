using NpgsqlTypes;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Postgres;

/// <summary>The request log's reads (<see cref="ILedgerQuery"/>): filtered, newest first, paged by row id.</summary>
public sealed partial class PostgresLedgerStore
{
    public async Task<IReadOnlyList<LedgerRow>> QueryAsync(LedgerFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand();
        var where = new PostgresWhere(cmd);
        where.Add("key_id = $$", filter.KeyId);
        where.Add("team_id = $$", filter.TeamId);
        where.Add("model = $$", filter.Model);
        where.Add("provider = $$", filter.Provider);
        where.Add("deployment = $$", filter.Deployment);
        // A rule id follows its check in the column ("input:rule:", GuardrailDecision.Format); strpos, not LIKE, as ids hold '_'.
        where.Add("""
            (guardrails IS NOT NULL AND ($$ = 'any' OR strpos(guardrails, 'input:' || $$ || ':') > 0
                OR strpos(guardrails, 'output:' || $$ || ':') > 0))
            """, filter.Guardrail, NpgsqlDbType.Text);
        where.Add("evaluation = $$", filter.Evaluation);
        where.Add("status >= $$", filter.StatusFrom);
        where.Add("status <= $$", filter.StatusTo);
        where.Add("ts >= $$", filter.From is { } from ? PostgresDatabase.Utc(from) : null, NpgsqlDbType.TimestampTz);
        where.Add("ts < $$", filter.To is { } to ? PostgresDatabase.Utc(to) : null, NpgsqlDbType.TimestampTz);
        where.Add("id < $$", filter.Before);
        cmd.Parameters.Add(new() { Value = Math.Max(filter.Limit, 0) });
        cmd.CommandText = $"SELECT {Columns}, id FROM ledger WHERE {where} ORDER BY id DESC LIMIT ${cmd.Parameters.Count}";
        var ids = new List<long>();
        var rows = await ReadEntriesAsync(cmd, cancellationToken, ids).ConfigureAwait(false);
        return [.. rows.Select((e, i) => new LedgerRow(ids[i], e))];
    }
}
