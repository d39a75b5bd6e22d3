using System.Text;
using NpgsqlTypes;
using Sanjia.Abstractions;

namespace Sanjia.Storage.Postgres;

/// <summary>The request log's reads (<see cref="ILedgerQuery"/>): filtered, newest first, paged by row id.</summary>
public sealed partial class PostgresLedgerStore
{
    public async Task<IReadOnlyList<LedgerRow>> QueryAsync(LedgerFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand();
        var where = new StringBuilder("true");
        void Add(string column, string op, object value, NpgsqlDbType? type = null)
        {
            var p = new Npgsql.NpgsqlParameter { Value = value };
            if (type is { } t) p.NpgsqlDbType = t;
            cmd.Parameters.Add(p);
            where.Append(" AND ").Append(column).Append(' ').Append(op).Append(" $").Append(cmd.Parameters.Count);
        }
        if (filter.KeyId is { } key) Add("key_id", "=", key);
        if (filter.TeamId is { } team) Add("team_id", "=", team);
        if (filter.Model is { } model) Add("model", "=", model);
        if (filter.Provider is { } provider) Add("provider", "=", provider);
        if (filter.Deployment is { } deployment) Add("deployment", "=", deployment);
        if (filter.StatusFrom is { } sf) Add("status", ">=", sf);
        if (filter.StatusTo is { } st) Add("status", "<=", st);
        if (filter.From is { } from) Add("ts", ">=", PostgresDatabase.Utc(from), NpgsqlDbType.TimestampTz);
        if (filter.To is { } to) Add("ts", "<", PostgresDatabase.Utc(to), NpgsqlDbType.TimestampTz);
        if (filter.Before is { } before) Add("id", "<", before);
        cmd.Parameters.Add(new() { Value = Math.Max(filter.Limit, 0) });
        cmd.CommandText = $"SELECT {Columns}, id FROM ledger WHERE {where} ORDER BY id DESC LIMIT ${cmd.Parameters.Count}";
        var ids = new List<long>();
        var rows = await ReadEntriesAsync(cmd, cancellationToken, ids).ConfigureAwait(false);
        return [.. rows.Select((e, i) => new LedgerRow(ids[i], e))];
    }
}
