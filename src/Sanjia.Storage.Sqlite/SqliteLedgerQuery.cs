using System.Text;
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
            var where = new StringBuilder("1 = 1");
            void Add(string condition, string name, object value)
            {
                where.Append(" AND ").Append(condition);
                cmd.Parameters.AddWithValue(name, value);
            }
            if (filter.KeyId is { } key) Add("key_id = $key", "$key", key);
            if (filter.TeamId is { } team) Add("team_id = $team", "$team", team);
            if (filter.Model is { } model) Add("model = $model", "$model", model);
            if (filter.Provider is { } provider) Add("provider = $provider", "$provider", provider);
            if (filter.Deployment is { } deployment) Add("deployment = $deployment", "$deployment", deployment);
            if (filter.StatusFrom is { } sf) Add("status >= $sf", "$sf", sf);
            if (filter.StatusTo is { } st) Add("status <= $st", "$st", st);
            // Timestamps are stored as round-trip UTC text ("O"), which sorts as the times do.
            if (filter.From is { } from) Add("ts >= $from", "$from", Ts(from));
            if (filter.To is { } to) Add("ts < $to", "$to", Ts(to));
            if (filter.Before is { } before) Add("id < $before", "$before", before);
            cmd.Parameters.AddWithValue("$limit", Math.Max(filter.Limit, 0));
            cmd.CommandText = $"""
                SELECT request_id, attempt, ts, key_id, team_id, endpoint, model, deployment, provider,
                    input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, estimated, status, error_code,
                    latency_ms, ttft_ms, stream, cost, currency, id
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
