using Sanjia.Abstractions;

namespace Sanjia.Core.Budgets;

/// <summary>Budget periods as UTC windows: days from midnight, weeks from Monday, months from the 1st.</summary>
public static class BudgetWindow
{
    public static (DateTimeOffset Start, DateTimeOffset? Reset) For(BudgetPeriod period, DateTimeOffset now)
    {
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        return period switch
        {
            BudgetPeriod.Daily => (day, day.AddDays(1)),
            BudgetPeriod.Weekly => (day.AddDays(-(((int)day.DayOfWeek + 6) % 7)), day.AddDays(-(((int)day.DayOfWeek + 6) % 7) + 7)),
            BudgetPeriod.Monthly => (new DateTimeOffset(day.Year, day.Month, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(day.Year, day.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1)),
            _ => (DateTimeOffset.UnixEpoch, null),
        };
    }
}
