namespace Sanjia.Abstractions;

/// <summary>Tokens consumed by one upstream call, by kind. <see cref="Estimated"/> marks counts the gateway computed itself.</summary>
public readonly record struct TokenUsage(int Input, int Output, int CachedInput = 0, int Reasoning = 0, bool Estimated = false)
{
    public int Total => Input + Output;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.Input + b.Input, a.Output + b.Output, a.CachedInput + b.CachedInput, a.Reasoning + b.Reasoning, a.Estimated || b.Estimated);
}
