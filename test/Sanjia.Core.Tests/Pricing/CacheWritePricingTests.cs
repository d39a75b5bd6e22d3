using Sanjia.Abstractions;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Tests.Pricing;

/// <summary>Prompt tokens written to a vendor's cache are priced at the cache-write rate (docs/metering.md, "Prompt caching").</summary>
public sealed class CacheWritePricingTests
{
    private static readonly ModelPrice Sonnet = new() { Currency = "USD", InputPerMTok = 3m, CachedInputPerMTok = 0.3m, CacheWritePerMTok = 3.75m, OutputPerMTok = 15m };

    [Fact]
    public void Cache_reads_and_writes_are_each_charged_once_at_their_own_rate_inside_the_prompt_tokens()
    {
        // 100 prompt tokens: 60 read from the cache, 30 written to it, 10 plain; 5 output.
        var cost = CostCalculator.Compute(Sonnet, new TokenUsage(100, 5, CachedInput: 60, CacheWrite: 30));
        Assert.Equal(((10 * 3m) + (60 * 0.3m) + (30 * 3.75m) + (5 * 15m)) / 1_000_000m, cost);
        // Without a cache-write rate the written tokens cost plain input.
        Assert.Equal(((40 * 3m) + (60 * 0.3m) + (5 * 15m)) / 1_000_000m, CostCalculator.Compute(Sonnet with { CacheWritePerMTok = null }, new TokenUsage(100, 5, 60, CacheWrite: 30)));
    }

    [Fact]
    public void A_budget_hold_prices_the_prompt_at_the_dearer_cache_write_rate()
    {
        Assert.Equal(((1000 * 3.75m) + (100 * 15m)) / 1_000_000m, CostCalculator.WorstCase(Sonnet, 1000, 100));
    }

    [Fact]
    public void A_tier_carries_its_own_cache_write_rate()
    {
        var tiered = Sonnet with { Tiers = [new PriceTier { AboveInputTokens = 200_000, InputPerMTok = 6m, CachedInputPerMTok = 0.6m, CacheWritePerMTok = 7.5m, OutputPerMTok = 22.5m }] };
        var cost = CostCalculator.Compute(tiered, new TokenUsage(300_000, 0, CachedInput: 0, CacheWrite: 300_000));
        Assert.Equal(300_000 * 7.5m / 1_000_000m, cost);
    }

    [Fact]
    public void The_catalogue_and_the_genai_prices_import_carry_cache_write_prices()
    {
        Assert.Equal(0.375m, PriceCatalogue.LoadBuiltIn().Find("minimax", "MiniMax-M2.7")!.CacheWritePerMTok);

        using var stream = File.OpenRead("/work/shared/data/genai-prices/data.json");
        var imported = GenAiPricesImporter.Import(stream, new DateOnly(2026, 12, 6)).Catalogue.Models;
        var haiku = imported.First(m => m.Provider == "anthropic" && m.Model == "claude-haiku-4-5");
        Assert.Equal((1m, 0.1m, 1.25m), (haiku.Input, haiku.CachedInput!.Value, haiku.CacheWrite!.Value));
        // Tiered: Sonnet 4.5 writes at 3.75 and, above 200K input tokens, at 7.5.
        var sonnet = imported.First(m => m.Provider == "anthropic" && m.Model == "claude-sonnet-4-5").ToPrice("imported");
        Assert.Equal((3.75m, 7.5m), (sonnet.CacheWritePerMTok!.Value, sonnet.ForInput(200_001).CacheWritePerMTok!.Value));
    }
}
