using System.Collections.Concurrent;

namespace Sanjia.Core.Budgets;

/// <summary>Requests and tokens per minute per key. In memory for one instance; Redis can implement it for several.</summary>
public interface IRateLimiter
{
    /// <summary>
    /// Counts one request, or says which limit is hit and how long until its window resets; with the limits as they
    /// stand after it (for the <c>x-ratelimit-*</c> headers; null when the key has none).
    /// </summary>
    (bool Allowed, string? Limit, TimeSpan RetryAfter, RateLimitStatus? Status) TryAcquire(string keyId, int? rpm, int? tpm);

    /// <summary>Adds a finished request's tokens to the current minute.</summary>
    void AddTokens(string keyId, int tokens);
}

/// <summary>
/// Fixed one-minute windows aligned to the clock minute: simple, exact to count and easy to explain
/// (<c>Retry-After</c> = seconds to the next minute). TPM counts tokens of requests finished in the window, so a
/// request is refused once the minute's tokens reached the limit.
/// </summary>
public sealed class InMemoryRateLimiter(TimeProvider time) : IRateLimiter
{
    private sealed class Window
    {
        public long Minute = -1;
        public int Requests;
        public long Tokens;
    }

    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    public (bool Allowed, string? Limit, TimeSpan RetryAfter, RateLimitStatus? Status) TryAcquire(string keyId, int? rpm, int? tpm)
    {
        if (rpm is null && tpm is null) return (true, null, default, null);
        var now = time.GetUtcNow();
        var minute = now.ToUnixTimeSeconds() / 60;
        var retry = DateTimeOffset.FromUnixTimeSeconds((minute + 1) * 60) - now;
        var w = _windows.GetOrAdd(keyId, _ => new Window());
        lock (w)
        {
            Roll(w, minute);
            if (rpm is { } r && w.Requests >= r) return (false, "rpm", retry, Status(w, rpm, tpm, retry));
            if (tpm is { } t && w.Tokens >= t) return (false, "tpm", retry, Status(w, rpm, tpm, retry));
            w.Requests++;
            return (true, null, default, Status(w, rpm, tpm, retry));
        }
    }

    public void AddTokens(string keyId, int tokens)
    {
        if (!_windows.TryGetValue(keyId, out var w)) return;
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        lock (w)
        {
            Roll(w, minute);
            w.Tokens += tokens;
        }
    }

    /// <summary>What is left of the minute: its window resets (to its initial state) at the next clock minute.</summary>
    private static RateLimitStatus Status(Window w, int? rpm, int? tpm, TimeSpan reset) => new(
        rpm, rpm is { } r ? Math.Max(0, r - w.Requests) : 0, reset,
        tpm, tpm is { } t ? Math.Max(0, t - w.Tokens) : 0, reset);

    private static void Roll(Window w, long minute)
    {
        if (w.Minute != minute)
        {
            w.Minute = minute;
            w.Requests = 0;
            w.Tokens = 0;
        }
    }
}
