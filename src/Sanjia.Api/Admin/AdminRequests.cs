using System.Globalization;
using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Api.Admin;

/// <summary>
/// Reads admin request bodies field by field, so PATCH can tell "absent" (keep) from <c>null</c> (clear), and every
/// bad field gets a 400 naming it.
/// </summary>
internal static partial class AdminRequests
{
    public sealed class Invalid(string message, string param, string code = "invalid_request") : Exception(message)
    {
        public string Param { get; } = param;

        public string Code { get; } = code;
    }

    /// <summary>The fields of a <c>budget</c> object: a misspelt <c>perod</c> must not leave a daily budget a total one.</summary>
    private static readonly string[] BudgetFields = ["amount", "currency", "period", "alert_at"];

    /// <summary>
    /// The largest budget amount (10^15 in any currency). Far above any real budget, and far enough below
    /// <see cref="decimal.MaxValue"/> that spend, holds and alert thresholds computed from it cannot overflow.
    /// </summary>
    public const decimal MaxBudgetAmount = 1_000_000_000_000_000m;

    public static JsonElement Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new Invalid("The body must be a JSON object.", "body");
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new Invalid("The body is not valid JSON: " + ex.Message, "body");
        }
    }

    public static bool Has(JsonElement o, string name, out JsonElement value) => o.TryGetProperty(name, out value);

    public static string? String(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => v.GetString(),
        _ => throw new Invalid($"'{name}' must be a string.", name),
    };

    public static int? PositiveInt(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number when v.TryGetInt32(out var i) && i > 0 => i,
        _ => throw new Invalid($"'{name}' must be a positive integer or null.", name),
    };

    public static List<string> Strings(JsonElement v, string name)
    {
        if (v.ValueKind == JsonValueKind.Null) return [];
        if (v.ValueKind != JsonValueKind.Array) throw new Invalid($"'{name}' must be an array of strings.", name);
        var list = new List<string>();
        foreach (var s in v.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(s.GetString())) throw new Invalid($"'{name}' must be an array of non-empty strings.", name);
            list.Add(s.GetString()!);
        }
        return list;
    }

    /// <summary>An RFC 3339 time with an offset (<c>2026-12-31T23:59:59Z</c>), or null.</summary>
    public static DateTimeOffset? Rfc3339(JsonElement v, string name)
    {
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String && Rfc3339Pattern().IsMatch(v.GetString()!)
            && DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
        {
            return at.ToUniversalTime();
        }
        throw new Invalid($"'{name}' must be an RFC 3339 time with an offset, e.g. 2026-12-31T23:59:59Z, or null.", name);
    }

    /// <summary>Known scope names (docs/decisions/0004-key-model.md), without repeats; an unknown one is refused.</summary>
    public static List<string> Scopes(JsonElement v)
    {
        var scopes = Strings(v, "scopes");
        foreach (var s in scopes)
        {
            if (!KeyScopes.All.Contains(s, StringComparer.Ordinal))
            {
                throw new Invalid($"'scopes' has the unknown scope '{s}'; known scopes: {string.Join(", ", KeyScopes.All)}.", "scopes");
            }
        }
        return [.. scopes.Distinct(StringComparer.Ordinal)];
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial System.Text.RegularExpressions.Regex Rfc3339Pattern();

    public static Dictionary<string, string> Metadata(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Null) return [];
        if (v.ValueKind != JsonValueKind.Object) throw new Invalid("'metadata' must be an object of string values.", "metadata");
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            d[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new Invalid($"'metadata.{p.Name}' must be a string.", "metadata");
        }
        return d;
    }

    public static Budget? ReadBudget(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object) throw new Invalid("'budget' must be an object {amount, currency, period} or null.", "budget");
        if (v.EnumerateObject().Select(p => p.Name).Where(n => !BudgetFields.Contains(n)).ToList() is [var first, ..] unknown)
        {
            throw new Invalid($"Unknown field{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(n => $"'budget.{n}'"))}. A budget has: {string.Join(", ", BudgetFields)}.",
                "budget." + first, "unknown_fields");
        }
        const string amountShape = "'budget.amount' is required: a number (or a decimal string) from 0 to 1000000000000000.";
        var amount = v.TryGetProperty("amount", out var a) ? a.ValueKind switch
        {
            JsonValueKind.Number when a.TryGetDecimal(out var d) => d,
            JsonValueKind.String when decimal.TryParse(a.GetString(), NumberStyles.Number, CultureInfo.InvariantCulture, out var d) => d,
            _ => throw new Invalid(amountShape, "budget.amount"),
        } : throw new Invalid(amountShape, "budget.amount");
        if (amount < 0) throw new Invalid("'budget.amount' must not be negative.", "budget.amount");
        if (amount > MaxBudgetAmount) throw new Invalid(amountShape, "budget.amount");
        var currency = v.TryGetProperty("currency", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: 3 } cs && cs.All(char.IsAsciiLetter)
            ? cs.ToUpperInvariant() : throw new Invalid("'budget.currency' is required: a three-letter code such as USD or CNY.", "budget.currency");
        var periodText = v.TryGetProperty("period", out var p) && p.ValueKind != JsonValueKind.Null
            ? p.ValueKind == JsonValueKind.String ? p.GetString()! : ""
            : "total";
        // Only the four names: Enum.TryParse also takes numbers and comma lists ("daily,weekly" is Weekly).
        if (!Enum.GetNames<BudgetPeriod>().Contains(periodText, StringComparer.OrdinalIgnoreCase)
            || !Enum.TryParse<BudgetPeriod>(periodText, ignoreCase: true, out var period))
        {
            throw new Invalid("'budget.period' must be daily, weekly, monthly or total.", "budget.period");
        }
        IReadOnlyList<int>? alertAt = null;
        if (v.TryGetProperty("alert_at", out var alerts) && alerts.ValueKind != JsonValueKind.Null)
        {
            const string shape = "'budget.alert_at' must be a list of percentages from 1 to 100 (e.g. [50, 80, 100]), [] for no alerts, or null for the gateway's default.";
            if (alerts.ValueKind != JsonValueKind.Array) throw new Invalid(shape, "budget.alert_at");
            alertAt = [.. alerts.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var p) && p is >= 1 and <= 100
                ? p : throw new Invalid(shape, "budget.alert_at")).Distinct().Order()];
        }
        return new Budget(amount, currency, period) { AlertAt = alertAt };
    }
}
