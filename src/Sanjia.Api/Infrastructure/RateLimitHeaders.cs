using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sanjia.Core.Budgets;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// OpenAI's rate-limit headers for the key's own limits (platform.openai.com/docs/guides/rate-limits, "Rate limits in
/// headers"): <c>x-ratelimit-limit-requests</c>, <c>-remaining-requests</c>, <c>-reset-requests</c> and the same for
/// tokens; a reset is the time until the limit is back to its initial state, written as OpenAI writes it (a Go
/// duration: <c>1s</c>, <c>6m0s</c>, <c>12ms</c>). Only for the limits the key has: no RPM, no request headers.
/// </summary>
public static class RateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, RateLimitStatus limits)
    {
        if (limits.RequestLimit is { } rpm)
        {
            headers["x-ratelimit-limit-requests"] = rpm.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = limits.RemainingRequests.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = Duration(limits.ResetRequests);
        }
        if (limits.TokenLimit is { } tpm)
        {
            headers["x-ratelimit-limit-tokens"] = tpm.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-tokens"] = limits.RemainingTokens.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-tokens"] = Duration(limits.ResetTokens);
        }
    }

    /// <summary>A duration as Go prints it, to the millisecond: <c>0s</c>, <c>12ms</c>, <c>1.5s</c>, <c>6m0s</c>, <c>1h2m3s</c>.</summary>
    public static string Duration(TimeSpan d)
    {
        var ms = (long)Math.Ceiling(Math.Max(0, d.TotalMilliseconds));
        if (ms == 0) return "0s";
        if (ms < 1000) return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        var hours = ms / 3_600_000;
        var minutes = ms / 60_000 % 60;
        var seconds = (ms % 60_000) / 1000m;
        var s = seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        return hours > 0 ? $"{hours}h{minutes}m{s}" : minutes > 0 ? $"{minutes}m{s}" : s;
    }
}
