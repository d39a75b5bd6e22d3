namespace Sanjia.Abstractions;

/// <summary>
/// Tokens consumed by one upstream call, by kind. <see cref="Estimated"/> marks counts the gateway computed itself.
/// <see cref="Input"/> counts every prompt token; <see cref="CachedInput"/> (read from a vendor's prompt cache) and
/// <see cref="CacheWrite"/> (written to it: Anthropic's <c>cache_creation_input_tokens</c>) are the parts of it priced
/// apart (docs/pricing.md).
/// </summary>
public readonly record struct TokenUsage(int Input, int Output, int CachedInput = 0, int Reasoning = 0, bool Estimated = false, int CacheWrite = 0)
{
    public int Total => Input + Output;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.Input + b.Input, a.Output + b.Output, a.CachedInput + b.CachedInput, a.Reasoning + b.Reasoning, a.Estimated || b.Estimated, a.CacheWrite + b.CacheWrite);
}
