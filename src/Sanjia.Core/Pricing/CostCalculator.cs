using Sanjia.Abstractions;

namespace Sanjia.Core.Pricing;

/// <summary>
/// Token counts × prices, in decimal. Follows OpenAI's usage semantics: cached tokens are part of the prompt
/// tokens and reasoning tokens are part of the completion tokens, so each is charged once, at its own price.
/// </summary>
public static class CostCalculator
{
    private const decimal Million = 1_000_000m;

    public static decimal Compute(ModelPrice price, TokenUsage usage)
    {
        var cached = Math.Clamp(usage.CachedInput, 0, Math.Max(0, usage.Input));
        var reasoning = Math.Clamp(usage.Reasoning, 0, Math.Max(0, usage.Output));
        var total = ((usage.Input - cached) * price.InputPerMTok)
            + (cached * (price.CachedInputPerMTok ?? price.InputPerMTok))
            + ((usage.Output - reasoning) * price.OutputPerMTok)
            + (reasoning * (price.ReasoningPerMTok ?? price.OutputPerMTok));
        return total / Million;
    }

    /// <summary>The most a request can cost: every prompt token uncached, every output token at the dearer output price.</summary>
    public static decimal WorstCase(ModelPrice price, int promptTokens, int maxOutputTokens) =>
        ((promptTokens * price.InputPerMTok) + (maxOutputTokens * Math.Max(price.OutputPerMTok, price.ReasoningPerMTok ?? 0m))) / Million;
}
