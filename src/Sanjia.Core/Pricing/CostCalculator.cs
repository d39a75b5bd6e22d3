using Sanjia.Abstractions;

namespace Sanjia.Core.Pricing;

/// <summary>
/// Token counts × prices, in decimal. Follows OpenAI's usage semantics: cached tokens (read from the vendor's prompt
/// cache) and cache-write tokens (written to it) are part of the prompt tokens and reasoning tokens are part of the
/// completion tokens, so each is charged once, at its own price.
/// The request's input (and output) tokens pick the tier (<see cref="ModelPrice.ForUsage"/>); an answer with reasoning tokens
/// is charged the thinking-mode output price for all its output where the vendor has one.
/// </summary>
public static class CostCalculator
{
    private const decimal Million = 1_000_000m;

    /// <param name="at">When the request was billed; null = peak rates (the dearer ones) for time-of-day prices.</param>
    public static decimal Compute(ModelPrice price, TokenUsage usage, DateTimeOffset? at = null)
    {
        price = price.ForUsage(usage.Input, usage.Output);
        if (at is { } moment) price = price.At(moment);
        var cached = Math.Clamp(usage.CachedInput, 0, Math.Max(0, usage.Input));
        var written = Math.Clamp(usage.CacheWrite, 0, Math.Max(0, usage.Input - cached));
        var reasoning = Math.Clamp(usage.Reasoning, 0, Math.Max(0, usage.Output));
        var output = reasoning > 0 && price.ThinkingOutputPerMTok is { } thinking ? thinking : price.OutputPerMTok;
        var total = ((usage.Input - cached - written) * price.InputPerMTok)
            + (cached * (price.CachedInputPerMTok ?? price.InputPerMTok))
            + (written * (price.CacheWritePerMTok ?? price.InputPerMTok))
            + ((usage.Output - reasoning) * output)
            + (reasoning * (price.ReasoningPerMTok ?? output));
        return total / Million;
    }

    /// <summary>
    /// The most a request can cost: every prompt token uncached (or written to the vendor's cache, when that is dearer)
    /// at the dearest tier the prompt reaches, every output token at the dearest output price of that tier.
    /// </summary>
    public static decimal WorstCase(ModelPrice price, int promptTokens, int maxOutputTokens)
    {
        var input = 0m;
        var output = 0m;
        foreach (var p in TiersUpTo(price, promptTokens))
        {
            input = Math.Max(input, Math.Max(Math.Max(p.InputPerMTok, p.CacheWritePerMTok ?? 0m), p.OffPeak?.InputPerMTok ?? 0m));
            output = Math.Max(output, Math.Max(Math.Max(p.OutputPerMTok, p.OffPeak?.OutputPerMTok ?? 0m), Math.Max(p.ReasoningPerMTok ?? 0m, p.ThinkingOutputPerMTok ?? 0m)));
        }
        return ((promptTokens * input) + (maxOutputTokens * output)) / Million;
    }

    private static IEnumerable<ModelPrice> TiersUpTo(ModelPrice price, int promptTokens)
    {
        yield return price.ForInput(0);
        foreach (var tier in price.Tiers ?? [])
        {
            if (promptTokens > tier.AboveInputTokens)
            {
                yield return price.ForInput(tier.AboveInputTokens + 1);
                yield return price.ForUsage(tier.AboveInputTokens + 1, 0); // an output band, should it be the dearer
            }
        }
    }
}
