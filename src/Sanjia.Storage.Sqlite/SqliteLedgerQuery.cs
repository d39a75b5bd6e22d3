using Microsoft.Data.Sqlite;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Sqlite;

/// <summary>The request log's reads (<see cref="ILedgerQuery"/>): filtered, newest first, paged by row id.</summary>
public sealed partial class SqliteLedgerStore
{
    public async Task<IReadOnlyList<LedgerRow>> QueryAsync(LedgerFilter filter, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            var where = new SqliteWhere(cmd);
            where.Add("key_id = $key", "$key", filter.KeyId);
            where.Add("team_id = $team", "$team", filter.TeamId);
            where.Add("model = $model", "$model", filter.Model);
            where.Add("provider = $provider", "$provider", filter.Provider);
            where.Add("deployment = $deployment", "$deployment", filter.Deployment);
            // A rule id follows its check in the column ("input:rule:", GuardrailDecision.Format); instr, not LIKE, as ids hold '_'.
            where.Add("""
                (guardrails IS NOT NULL AND ($guardrail = 'any' OR instr(guardrails, 'input:' || $guardrail || ':') > 0
                    OR instr(guardrails, 'output:' || $guardrail || ':') > 0))
                """, "$guardrail", filter.Guardrail);
            where.Add("evaluation = $evaluation", "$evaluation", filter.Evaluation is { } evaluation ? (evaluation ? 1 : 0) : null);
            where.Add("status >= $sf", "$sf", filter.StatusFrom);
            where.Add("status <= $st", "$st", filter.StatusTo);
            // Timestamps are stored as round-trip UTC text ("O"), which sorts as the times do.
            where.Add("ts >= $from", "$from", filter.From is { } from ? Ts(from) : null);
            where.Add("ts < $to", "$to", filter.To is { } to ? Ts(to) : null);
            where.Add("id < $before", "$before", filter.Before);
            cmd.Parameters.AddWithValue("$limit", Math.Max(filter.Limit, 0));
            cmd.CommandText = $"""
                SELECT request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                    latency_ms, ttft_ms, stream, cost, currency, cache_write_tokens, cache_of, cost_saved, guardrails, images, evaluation, id
                FROM ledger WHERE {where} ORDER BY id DESC LIMIT $limit
                """;
            var ids = new List<long>();
            var rows = await ReadEntriesAsync(cmd, cancellationToken, ids).ConfigureAwait(false);
            return [.. rows.Select((e, i) => new LedgerRow(ids[i], e))];
        }
        finally
        {
            _gate.Release();
        }
    }
}
