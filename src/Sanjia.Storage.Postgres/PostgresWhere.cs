using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Sanjia.Storage.Postgres;

/// <summary>A WHERE clause of optional filters (the request log, the audit log): each present one is a condition and a positional parameter.</summary>
internal sealed class PostgresWhere(NpgsqlCommand command)
{
    private readonly StringBuilder _sql = new("true");

    /// <summary>Adds <paramref name="condition"/>, whose <c>$$</c> stands for the parameter, when <paramref name="value"/> is not null.</summary>
    public void Add(string condition, object? value, NpgsqlDbType? type = null)
    {
        if (value is null) return;
        var p = new NpgsqlParameter { Value = value };
        if (type is { } t) p.NpgsqlDbType = t;
        command.Parameters.Add(p);
        _sql.Append(" AND ").Append(condition.Replace("$$", "$" + command.Parameters.Count, StringComparison.Ordinal));
    }

    public override string ToString() => _sql.ToString();
}
