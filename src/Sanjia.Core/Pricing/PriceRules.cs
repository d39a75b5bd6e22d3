using System.Globalization;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Pricing;

/// <summary>
/// The one translation of the price rules as written (configuration and the catalogue file share
/// <see cref="PriceTierOptions"/> and <see cref="OffPeakOptions"/>) into the runtime <see cref="PriceTier"/> and
/// <see cref="OffPeakPrice"/>: peak days (<c>Mon</c> ... <c>Sun</c>) and windows (<c>HH:mm-HH:mm</c>, UTC) read here.
/// </summary>
public static class PriceRules
{
    private static readonly string[] Days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary>The tiers in ascending threshold order, or null for a flat price.</summary>
    public static IReadOnlyList<PriceTier>? Tiers(IReadOnlyCollection<PriceTierOptions>? tiers) =>
        tiers is not { Count: > 0 } ? null : [.. tiers.OrderBy(t => t.AboveInputTokens).Select(t => new PriceTier
        {
            AboveInputTokens = t.AboveInputTokens, BelowOutputTokens = t.BelowOutputTokens, InputPerMTok = t.Input, CachedInputPerMTok = t.CachedInput, CacheWritePerMTok = t.CacheWrite,
            OutputPerMTok = t.Output, ReasoningPerMTok = t.Reasoning, ThinkingOutputPerMTok = t.ThinkingOutput,
        })];

    public static OffPeakPrice? OffPeak(OffPeakOptions? off) => off is null ? null : new()
    {
        InputPerMTok = off.Input,
        CachedInputPerMTok = off.CachedInput,
        OutputPerMTok = off.Output,
        PeakDays = [.. off.PeakDays.Select(d => TryDay(d, out var day) ? day : throw new FormatException($"'{d}' is not a day (Mon ... Sun)."))],
        PeakHoursUtc = [.. off.PeakHoursUtc.Select(w => TryWindow(w, out var win) ? win : throw new FormatException($"'{w}' is not a UTC window HH:mm-HH:mm."))],
    };

    /// <summary>What is wrong with the settings, or null.</summary>
    public static string? Problem(IReadOnlyList<string> days, IReadOnlyList<string> windows)
    {
        if (days.Count == 0 || windows.Count == 0) return "needs PeakDays (Mon ... Sun) and PeakHoursUtc (HH:mm-HH:mm).";
        if (days.FirstOrDefault(d => !TryDay(d, out _)) is { } badDay) return $"'{badDay}' is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun.";
        if (windows.FirstOrDefault(w => !TryWindow(w, out _)) is { } badWindow) return $"'{badWindow}' is not a UTC window such as 01:00-04:00 (start before end).";
        return null;
    }

    private static bool TryDay(string text, out DayOfWeek day)
    {
        var i = Array.FindIndex(Days, d => d.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        day = (DayOfWeek)Math.Max(i, 0);
        return i >= 0;
    }

    private static bool TryWindow(string text, out (TimeSpan From, TimeSpan To) window)
    {
        window = default;
        var parts = text.Split('-', 2, StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !TimeSpan.TryParseExact(parts[0], @"hh\:mm", CultureInfo.InvariantCulture, out var from)
            || !(TimeSpan.TryParseExact(parts[1], @"hh\:mm", CultureInfo.InvariantCulture, out var to) || (parts[1] == "24:00" && (to = TimeSpan.FromHours(24)) > TimeSpan.Zero))
            || from >= to)
        {
            return false;
        }
        window = (from, to);
        return true;
    }
}
