using System.Text;
using Microsoft.Data.Sqlite;

namespace Sanjia.Storage.Sqlite;

/// <summary>A WHERE clause of optional filters (the request log, the audit log): each present one is a condition and a bound parameter.</summary>
internal sealed class SqliteWhere(SqliteCommand command)
{
    private readonly StringBuilder _sql = new("1 = 1");

    /// <summary>Adds <paramref name="condition"/> (naming <paramref name="name"/>) when <paramref name="value"/> is not null.</summary>
    public void Add(string condition, string name, object? value)
    {
        if (value is null) return;
        _sql.Append(" AND ").Append(condition);
        command.Parameters.AddWithValue(name, value);
    }

    public override string ToString() => _sql.ToString();
}
