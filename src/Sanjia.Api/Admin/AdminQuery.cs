using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;

namespace Sanjia.Api.Admin;

/// <summary>The query parameters every admin list shares: a time range, a page size and a cursor; each refusal names its parameter.</summary>
public static class AdminQuery
{
    public const int DefaultLimit = 50, MaxLimit = 500;

    public static string? Text(IQueryCollection q, string name) => q[name].ToString() is { Length: > 0 } s ? s : null;

    /// <summary>An ISO 8601 date or time (UTC when no offset is given), null when absent.</summary>
    public static GatewayError? Time(IQueryCollection q, string name, out DateTimeOffset? value)
    {
        value = null;
        if (Text(q, name) is not { } text) return null;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return GatewayError.Invalid($"'{name}' must be an ISO 8601 date or time (UTC when no offset is given).", name);
        }
        value = at;
        return null;
    }

    /// <summary>
    /// <c>evaluation</c>: <c>true</c> (only evaluation traffic: keys with the <c>evaluation</c> scope, compare runs),
    /// <c>false</c> (only the rest: what clients sent in production) or <c>any</c> (both); <paramref name="fallback"/>
    /// when absent. Null in <paramref name="only"/> means both.
    /// </summary>
    public static GatewayError? Evaluation(IQueryCollection q, bool? fallback, out bool? only)
    {
        only = fallback;
        if (Text(q, "evaluation") is not { } text) return null;
        switch (text.ToLowerInvariant())
        {
            case "true" or "1": only = true; return null;
            case "false" or "0": only = false; return null;
            case "any": only = null; return null;
            default: return GatewayError.Invalid("'evaluation' must be 'true' (only evaluation traffic), 'false' (only the rest) or 'any' (both).", "evaluation");
        }
    }

    /// <summary>The <c>evaluation</c> filter as a response names it: <c>true</c>, <c>false</c> or <c>any</c>.</summary>
    public static string EvaluationName(bool? only) => only switch { true => "true", false => "false", null => "any" };

    /// <summary><c>limit</c> (1 to <see cref="MaxLimit"/>, default <see cref="DefaultLimit"/>) and <c>cursor</c> (the <c>next_cursor</c> of a previous page).</summary>
    public static GatewayError? Page(IQueryCollection q, out int limit, out long? before)
    {
        limit = DefaultLimit;
        before = null;
        if (Text(q, "limit") is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return GatewayError.Invalid($"'limit' must be a whole number from 1 to {MaxLimit}.", "limit");
        }
        if (Text(q, "cursor") is { } cursor)
        {
            if (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return GatewayError.Invalid("'cursor' must be the next_cursor of a previous page.", "cursor");
            }
            before = id;
        }
        return null;
    }

    /// <summary><c>from</c>, <c>to</c>, <c>limit</c> and <c>cursor</c> together; the first invalid one's error.</summary>
    public static GatewayError? RangeAndPage(IQueryCollection q, out DateTimeOffset? from, out DateTimeOffset? to, out int limit, out long? before)
    {
        var fromError = Time(q, "from", out from);
        var toError = Time(q, "to", out to);
        var pageError = Page(q, out limit, out before);
        return fromError ?? toError ?? pageError;
    }

    /// <summary>A page's end: <c>has_more</c> and <c>next_cursor</c> (the last row's id when there is more, else null).</summary>
    public static void WritePageEnd(Utf8JsonWriter w, bool hasMore, long lastId)
    {
        w.WriteBoolean("has_more"u8, hasMore);
        if (hasMore) w.WriteString("next_cursor"u8, lastId.ToString(CultureInfo.InvariantCulture)); else w.WriteNull("next_cursor"u8);
    }
}
