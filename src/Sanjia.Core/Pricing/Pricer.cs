using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Core.Pricing;

/// <summary>
/// The one place a deployment gets its price and a usage gets its cost (ledger, response header and budgets all
/// ask here, so they always agree). Order: the alias entry's own prices (<see cref="PriceOf(Deployment)"/>), then the
/// config override for the deployment id, then the catalogue under the provider's name, then under its preset's name;
/// local engines cost <see cref="MeteringOptions.LocalCompute"/> or zero.
/// </summary>
public sealed class Pricer
{
    /// <summary>Providers whose compute the deployment owner pays for: zero (or the configured compute price).</summary>
    private static readonly HashSet<string> LocalPresets = new(StringComparer.OrdinalIgnoreCase) { "local", "ollama", "vllm", "llamacpp" };

    private readonly PriceCatalogue _catalogue;
    private readonly SanjiaOptions _options;
    private readonly ModelPrice _local;
    private readonly TimeProvider _time;

    public Pricer(PriceCatalogue catalogue, SanjiaOptions options, TimeProvider? time = null)
    {
        _catalogue = catalogue;
        _options = options;
        _time = time ?? TimeProvider.System;
        _local = options.Metering.LocalCompute is { } c ? ToPrice(c, "local") : new ModelPrice { Currency = "USD", InputPerMTok = 0, OutputPerMTok = 0, Source = "local" };
    }

    public static ModelPrice ToPrice(PriceOptions o, string source) => new()
    {
        Currency = o.Currency.ToUpperInvariant(),
        InputPerMTok = o.Input,
        CachedInputPerMTok = o.CachedInput,
        CacheWritePerMTok = o.CacheWrite,
        OutputPerMTok = o.Output,
        ReasoningPerMTok = o.Reasoning,
        ThinkingOutputPerMTok = o.ThinkingOutput,
        OffPeak = PriceRules.OffPeak(o.OffPeak),
        Tiers = PriceRules.Tiers(o.Tiers),
        ContextWindow = o.ContextWindow,
        MaxOutputTokens = o.MaxOutputTokens,
        Images = o.PerImage is { Count: > 0 } perImage ? new ImagePrice { PerImage = new Dictionary<string, decimal>(perImage, StringComparer.OrdinalIgnoreCase) } : null,
        Source = source,
    };

    public ModelPrice? PriceOf(string provider, string model)
    {
        if (_options.Metering.Prices.TryGetValue(provider + "/" + model, out var configured))
        {
            return ToPrice(configured, "config");
        }
        if (_catalogue.Find(provider, model) is { } p)
        {
            return p;
        }
        var preset = _options.Providers.TryGetValue(provider, out var po) ? po.Preset : null;
        if (preset is not null && _catalogue.Find(preset, model) is { } pp)
        {
            return pp;
        }
        return LocalPresets.Contains(provider) || (preset is not null && LocalPresets.Contains(preset)) ? _local : null;
    }

    /// <summary>
    /// A deployment's price: the alias entry's own <c>InputPricePerMillion</c>/<c>OutputPricePerMillion</c> (USD, flat)
    /// when both are set, else the price of its <c>provider/model</c>. The entry's prices replace the rates only; the
    /// model's limits (context window, maximum output) are kept.
    /// </summary>
    public ModelPrice? PriceOf(Deployment deployment)
    {
        var model = PriceOf(deployment.Provider.Name, deployment.UpstreamModel);
        if (deployment.Settings is not { InputPricePerMillion: { } input, OutputPricePerMillion: { } output })
        {
            return model;
        }
        return new ModelPrice
        {
            Currency = "USD",
            InputPerMTok = input,
            OutputPerMTok = output,
            ContextWindow = model?.ContextWindow,
            MaxOutputTokens = model?.MaxOutputTokens,
            Images = model?.Images,
            Source = "deployment",
        };
    }

    /// <param name="at">When the request was billed (time-of-day prices); null = now.</param>
    public Cost CostOf(string? provider, string? model, TokenUsage usage, DateTimeOffset? at = null)
    {
        if (provider is null || model is null || PriceOf(provider, model) is not { } price)
        {
            return Cost.Unpriced;
        }
        return new Cost(CostCalculator.Compute(price, usage, at ?? _time.GetUtcNow()), price.Currency);
    }

    /// <summary>The cost of a usage on a deployment (unpriced without one).</summary>
    /// <param name="at">When the request was billed (time-of-day prices); null = now.</param>
    public Cost CostOf(Deployment? deployment, TokenUsage usage, DateTimeOffset? at = null) =>
        deployment is not null && PriceOf(deployment) is { } price
            ? new Cost(CostCalculator.Compute(price, usage, at ?? _time.GetUtcNow()), price.Currency)
            : Cost.Unpriced;

    /// <summary>Prices a ledger entry that has none yet; the deployment id is <c>provider/model</c>.</summary>
    public LedgerEntry Price(LedgerEntry entry)
    {
        if (entry.Currency is not null || entry.Deployment is null || entry.Provider is null)
        {
            return entry;
        }
        var model = entry.Deployment.Length > entry.Provider.Length + 1 ? entry.Deployment[(entry.Provider.Length + 1)..] : entry.Deployment;
        var cost = CostOf(entry.Provider, model, entry.Usage, entry.Timestamp);
        return entry with { Cost = cost.Amount, Currency = cost.Currency };
    }
}
