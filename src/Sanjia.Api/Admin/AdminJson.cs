using System.Globalization;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Budgets;
using Sanjia.Core.Reports;

namespace Sanjia.Api.Admin;

/// <summary>The admin API's response shapes (snake_case, decimals as strings so no client rounds money).</summary>
internal static class AdminJson
{
    public static void WriteBudget(Utf8JsonWriter w, string name, Budget? b, (decimal Spent, decimal Reserved, DateTimeOffset? ResetsAt)? status)
    {
        if (b is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        w.WriteString("amount", Money(b.Amount));
        w.WriteString("currency", b.Currency);
        w.WriteString("period", b.Period.ToString().ToLowerInvariant());
        if (b.AlertAt is { } alertAt)
        {
            w.WriteStartArray("alert_at");
            foreach (var p in alertAt) w.WriteNumberValue(p);
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("alert_at");
        }
        var (_, reset) = BudgetWindow.For(b.Period, DateTimeOffset.UtcNow);
        if (status is { } s)
        {
            w.WriteString("spent", Money(s.Spent));
            w.WriteString("reserved", Money(s.Reserved));
            reset = s.ResetsAt;
        }
        if (reset is { } r) w.WriteString("resets_at", r); else w.WriteNull("resets_at");
        w.WriteEndObject();
    }

    public static void WriteKey(Utf8JsonWriter w, VirtualKey k, string? secret, (decimal, decimal, DateTimeOffset?)? status, DateTimeOffset now)
    {
        w.WriteStartObject();
        w.WriteString("id", k.Id);
        w.WriteString("object", "virtual_key");
        w.WriteString("name", k.Name);
        if (secret is not null) w.WriteString("key", secret);
        w.WriteString("key_prefix", k.Prefix);
        if (k.TeamId is null) w.WriteNull("team_id"); else w.WriteString("team_id", k.TeamId);
        w.WriteStartArray("allowed_models");
        foreach (var m in k.AllowedModels) w.WriteStringValue(m);
        w.WriteEndArray();
        WriteBudget(w, "budget", k.Budget, status);
        if (k.RpmLimit is { } rpm) w.WriteNumber("rpm_limit", rpm); else w.WriteNull("rpm_limit");
        if (k.TpmLimit is { } tpm) w.WriteNumber("tpm_limit", tpm); else w.WriteNull("tpm_limit");
        WriteMetadata(w, k.Metadata);
        w.WriteStartArray("scopes");
        foreach (var s in k.Scopes) w.WriteStringValue(s);
        w.WriteEndArray();
        w.WriteStartArray("guardrails");
        foreach (var g in k.Guardrails) w.WriteStringValue(g);
        w.WriteEndArray();
        w.WriteString("created_at", k.CreatedAt);
        if (k.ExpiresAt is { } ex) w.WriteString("expires_at", ex); else w.WriteNull("expires_at");
        if (k.RevokedAt is { } rv) w.WriteString("revoked_at", rv); else w.WriteNull("revoked_at");
        w.WriteString("status", k.RevokedAt is not null ? "revoked" : k.ExpiresAt <= now ? "expired" : "active");
        w.WriteEndObject();
    }

    public static void WriteTeam(Utf8JsonWriter w, Team t, (decimal, decimal, DateTimeOffset?)? status)
    {
        w.WriteStartObject();
        w.WriteString("id", t.Id);
        w.WriteString("object", "team");
        w.WriteString("name", t.Name);
        WriteBudget(w, "budget", t.Budget, status);
        WriteMetadata(w, t.Metadata);
        w.WriteStartArray("guardrails");
        foreach (var g in t.Guardrails) w.WriteStringValue(g);
        w.WriteEndArray();
        w.WriteString("created_at", t.CreatedAt);
        w.WriteEndObject();
    }

    public static void WriteSpend(Utf8JsonWriter w, SpendReportResult r)
    {
        w.WriteStartObject();
        w.WriteString("object", "spend_report");
        w.WriteString("group_by", r.GroupBy);
        w.WriteString("from", r.From);
        w.WriteString("to", r.To);
        w.WriteStartArray("rows");
        foreach (var row in r.Rows)
        {
            w.WriteStartObject();
            w.WriteString("group", row.Group);
            WriteCost(w, row.Currency, row.Cost);
            w.WriteNumber("requests", row.Requests);
            w.WriteNumber("unpriced_requests", row.UnpricedRequests);
            w.WriteNumber("input_tokens", row.InputTokens);
            w.WriteNumber("cached_input_tokens", row.CachedInputTokens);
            w.WriteNumber("output_tokens", row.OutputTokens);
            w.WriteNumber("reasoning_tokens", row.ReasoningTokens);
            w.WriteNumber("cache_write_tokens", row.CacheWriteTokens);
            WriteCacheSavings(w, row.Currency, row.CacheHits, row.CostSaved);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("totals");
        foreach (var t in r.Totals)
        {
            w.WriteStartObject();
            WriteCost(w, t.Currency, t.Cost);
            w.WriteNumber("requests", t.Requests);
            w.WriteNumber("unpriced_requests", t.UnpricedRequests);
            WriteCacheSavings(w, t.Currency, t.CacheHits, t.CostSaved);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Unpriced spend has no currency and the cost <c>"unpriced"</c>, never 0.</summary>
    /// <summary>Response-cache hits and what they saved (docs/caching.md), in the row's currency (none for unpriced rows).</summary>
    private static void WriteCacheSavings(Utf8JsonWriter w, string? currency, int hits, decimal saved)
    {
        w.WriteNumber("cache_hits", hits);
        if (currency is null) w.WriteNull("cost_saved");
        else w.WriteString("cost_saved", Money(saved));
    }

    private static void WriteCost(Utf8JsonWriter w, string? currency, decimal cost)
    {
        if (currency is null)
        {
            w.WriteNull("currency");
            w.WriteString("cost", "unpriced");
        }
        else
        {
            w.WriteString("currency", currency);
            w.WriteString("cost", Money(cost));
        }
    }

    private static void WriteMetadata(Utf8JsonWriter w, IReadOnlyDictionary<string, string> metadata)
    {
        w.WriteStartObject("metadata");
        foreach (var (k, v) in metadata) w.WriteString(k, v);
        w.WriteEndObject();
    }

    public static string Money(decimal d) => d.ToString(CultureInfo.InvariantCulture);
}
