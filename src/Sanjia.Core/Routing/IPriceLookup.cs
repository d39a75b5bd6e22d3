using Sanjia.Core.Models;

namespace Sanjia.Core.Routing;

/// <summary>Price per token (US dollars) for input and output.</summary>
public readonly record struct TokenPrice(decimal InputPerToken, decimal OutputPerToken)
{
    public decimal Estimate(int inputTokens, int outputTokens) => (InputPerToken * inputTokens) + (OutputPerToken * outputTokens);
}

/// <summary>
/// Where <c>lowest-cost</c> routing gets prices. The default reads the deployment's configured prices; a price
/// catalogue can replace it by registering its own implementation.
/// </summary>
public interface IPriceLookup
{
    /// <summary>The deployment's price, or null when unknown.</summary>
    TokenPrice? Find(Deployment deployment);
}

/// <summary>Prices from <c>InputPricePerMillion</c>/<c>OutputPricePerMillion</c> on the alias's deployment entry.</summary>
public sealed class ConfiguredPriceLookup : IPriceLookup
{
    public TokenPrice? Find(Deployment deployment) =>
        deployment.Settings is { InputPricePerMillion: { } input, OutputPricePerMillion: { } output }
            ? new TokenPrice(input / 1_000_000m, output / 1_000_000m)
            : null;
}
