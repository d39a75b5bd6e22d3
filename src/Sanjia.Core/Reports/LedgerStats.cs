using Sanjia.Abstractions;

namespace Sanjia.Core.Reports;

/// <summary>
/// The figures the web console shows, computed from ledger rows (and nothing else, so they agree with
/// <c>/admin/spend</c> and <c>/admin/requests</c>): traffic per hour, usage per group over periods with its trend, and
/// availability per vendor or deployment per day. Rows with status 0 (a stream still in flight when its row was
/// noted) are left out. A <b>vendor failure</b> is a 5xx: the vendor's own error, a timeout (504) or no answer (502,
/// 503); a <b>client error</b> is a 4xx (refused key, budget, bad request, the vendor's 429) and says nothing about the
/// vendor, so availability leaves it out of the count: availability = 1 − vendor failures / (requests − client errors).
/// </summary>
public static class LedgerStats
{
    public sealed record Money(string Currency, decimal Cost);

    /// <summary>Traffic in one time bucket.</summary>
    public sealed record Bucket(DateTimeOffset Start, DateTimeOffset End, int Requests, int Errors, int ClientErrors,
        double? LatencyP50, double? LatencyP95, double? TtftP50, double? TtftP95, long InputTokens, long OutputTokens,
        IReadOnlyList<Money> Spend, int UnpricedRequests)
    {
        public double RequestsPerSecond => Requests / Math.Max((End - Start).TotalSeconds, 1);
        /// <summary>Vendor failures over requests that were not client errors; null with no such request.</summary>
        public double? ErrorRate => Requests - ClientErrors is var n and > 0 ? (double)Errors / n : null;
    }

    public static bool IsVendorFailure(LedgerEntry e) => e.Status >= 500;

    public static bool IsClientError(LedgerEntry e) => e.Status is >= 400 and < 500;

    /// <summary>Nearest-rank percentile of values sorted ascending; null when there are none.</summary>
    public static double? Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return null;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    /// <summary><paramref name="count"/> buckets of <paramref name="step"/> from <paramref name="from"/> on.</summary>
    public static IReadOnlyList<Bucket> Overview(IEnumerable<LedgerEntry> entries, DateTimeOffset from, TimeSpan step, int count)
    {
        var groups = new List<LedgerEntry>[count];
        for (var i = 0; i < count; i++) groups[i] = [];
        foreach (var e in entries)
        {
            if (e.Status == 0 || e.Timestamp < from) continue;
            var i = (int)((e.Timestamp - from).Ticks / step.Ticks);
            if (i < count) groups[i].Add(e);
        }
        return [.. groups.Select((g, i) => Summarize(g, from + step * i, from + step * (i + 1)))];
    }

    public static Bucket Summarize(IReadOnlyCollection<LedgerEntry> rows, DateTimeOffset start, DateTimeOffset end)
    {
        var latency = rows.Where(r => !IsClientError(r)).Select(r => r.LatencyMs).Order().ToList();
        var ttft = rows.Where(r => r.TimeToFirstTokenMs is not null).Select(r => r.TimeToFirstTokenMs!.Value).Order().ToList();
        return new Bucket(start, end, rows.Count, rows.Count(IsVendorFailure), rows.Count(IsClientError),
            Percentile(latency, 50), Percentile(latency, 95), Percentile(ttft, 50), Percentile(ttft, 95),
            rows.Sum(r => (long)r.Usage.Input), rows.Sum(r => (long)r.Usage.Output), Spend(rows),
            rows.Count(r => r.Cost is null && r.Usage.Total > 0));
    }

    /// <summary>Exact decimal sums per currency, never added across currencies.</summary>
    public static IReadOnlyList<Money> Spend(IEnumerable<LedgerEntry> rows) =>
        [.. rows.Where(r => r.Cost is not null && r.Currency is not null).GroupBy(r => r.Currency!, StringComparer.Ordinal)
            .Select(g => new Money(g.Key, g.Sum(r => r.Cost!.Value))).OrderBy(m => m.Currency, StringComparer.Ordinal)];

    /// <summary>One group's use in each period, oldest first, and its share of all requests in the last two periods.</summary>
    public sealed record UsageGroup(string Group, IReadOnlyList<Bucket> Periods, double ShareCurrent, double SharePrevious)
    {
        /// <summary>Percentage points gained (or lost) from the previous period to the current one.</summary>
        public double Change => (ShareCurrent - SharePrevious) * 100;

        /// <summary><c>new</c> (nothing before), <c>rising</c> (+1 point or more), <c>falling</c> (−1 point or more), else <c>steady</c>.</summary>
        public string Trend => Periods.Count >= 2 && Periods[^2].Requests == 0 && Periods[^1].Requests > 0 ? "new"
            : Change >= 1 ? "rising" : Change <= -1 ? "falling" : "steady";
    }

    /// <summary>What a ledger row is grouped by on the usage page.</summary>
    public static Func<LedgerEntry, string?>? GroupKey(string by) => by switch
    {
        "model" => e => e.Model,
        "provider" => e => e.Provider,
        "deployment" => e => e.Deployment,
        "key" => e => KeyLabel.Of(e.KeyId),
        "team" => e => e.TeamId,
        _ => null,
    };

    /// <summary>
    /// Use per group over <paramref name="periods"/> periods of <paramref name="period"/> ending at <paramref name="end"/>
    /// (rolling: the current period is the last <paramref name="period"/> up to now), groups with the most requests in
    /// the current period first. Rows without a value for the grouping (a request refused before routing has no
    /// provider) are left out.
    /// </summary>
    public static IReadOnlyList<UsageGroup> Usage(IEnumerable<LedgerEntry> entries, Func<LedgerEntry, string?> key, DateTimeOffset end, TimeSpan period, int periods)
    {
        var from = end - period * periods;
        var rows = entries.Where(e => e.Status != 0 && e.Timestamp >= from && e.Timestamp < end && key(e) is not null).ToList();
        int Index(LedgerEntry e) => (int)((e.Timestamp - from).Ticks / period.Ticks);
        var current = rows.Count(e => Index(e) == periods - 1);
        var previous = rows.Count(e => Index(e) == periods - 2);
        return [.. rows.GroupBy(e => key(e)!, StringComparer.Ordinal).Select(g =>
        {
            var buckets = Overview(g, from, period, periods);
            return new UsageGroup(g.Key, buckets,
                current == 0 ? 0 : (double)buckets[^1].Requests / current,
                previous == 0 || periods < 2 ? 0 : (double)buckets[^2].Requests / previous);
        }).OrderByDescending(u => u.Periods[^1].Requests).ThenByDescending(u => u.Periods.Sum(p => p.Requests)).ThenBy(u => u.Group, StringComparer.Ordinal)];
    }

    /// <summary>One group's service level on one UTC day.</summary>
    public sealed record SlaDay(DateOnly Day, int Requests, int ClientErrors, int VendorFailures, double? LatencyP50, double? LatencyP95,
        double? LatencyP99, double? TtftP50, double? TtftP95, IReadOnlyDictionary<string, int> FailureCodes)
    {
        /// <summary>Requests the vendor answered without a 5xx, of those that were not client errors; null with none.</summary>
        public double? Availability => Requests - ClientErrors is var n and > 0 ? 1 - (double)VendorFailures / n : null;
    }

    public sealed record SlaGroup(string Group, IReadOnlyList<SlaDay> Days, SlaDay Total);

    /// <summary>Service level per group (provider or deployment) per UTC day, <paramref name="days"/> days up to <paramref name="end"/>'s day.</summary>
    public static IReadOnlyList<SlaGroup> Sla(IEnumerable<LedgerEntry> entries, Func<LedgerEntry, string?> key, DateTimeOffset end, int days)
    {
        var lastDay = DateOnly.FromDateTime(end.UtcDateTime);
        var firstDay = lastDay.AddDays(1 - days);
        var rows = entries.Where(e => e.Status != 0 && key(e) is not null && DateOnly.FromDateTime(e.Timestamp.UtcDateTime) >= firstDay).ToList();
        return [.. rows.GroupBy(e => key(e)!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var byDay = g.ToLookup(e => DateOnly.FromDateTime(e.Timestamp.UtcDateTime));
            var list = Enumerable.Range(0, days).Select(i => firstDay.AddDays(i)).Select(d => Day(d, [.. byDay[d]])).ToList();
            return new SlaGroup(g.Key, list, Day(lastDay, [.. g]));
        })];
    }

    private static SlaDay Day(DateOnly day, List<LedgerEntry> rows)
    {
        // Latency of what the vendor answered or failed; a client error (often refused before any upstream call) would flatter it.
        var latency = rows.Where(r => !IsClientError(r)).Select(r => r.LatencyMs).Order().ToList();
        var ttft = rows.Where(r => r.TimeToFirstTokenMs is not null).Select(r => r.TimeToFirstTokenMs!.Value).Order().ToList();
        var codes = rows.Where(IsVendorFailure).GroupBy(r => r.ErrorCode ?? r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal)
            .ToDictionary(c => c.Key, c => c.Count(), StringComparer.Ordinal);
        return new SlaDay(day, rows.Count, rows.Count(IsClientError), rows.Count(IsVendorFailure),
            Percentile(latency, 50), Percentile(latency, 95), Percentile(latency, 99), Percentile(ttft, 50), Percentile(ttft, 95), codes);
    }
}
