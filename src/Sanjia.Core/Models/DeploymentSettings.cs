using Sanjia.Core.Configuration;

namespace Sanjia.Core.Models;

/// <summary>The routing-relevant settings of one deployment in an alias, immutable once built from configuration.</summary>
public sealed record DeploymentSettings
{
    public static readonly DeploymentSettings Default = new();

    public double Weight { get; init; } = 1;
    public int Priority { get; init; }
    public int? MaxConcurrentRequests { get; init; }
    public int? ContextWindow { get; init; }
    public decimal? InputPricePerMillion { get; init; }
    public decimal? OutputPricePerMillion { get; init; }
    public double? FirstTokenSeconds { get; init; }
    public double? StreamIdleSeconds { get; init; }
    public double? TotalSeconds { get; init; }

    public static DeploymentSettings From(DeploymentOptions o) => new()
    {
        Weight = o.Weight,
        Priority = o.Priority,
        MaxConcurrentRequests = o.MaxConcurrentRequests,
        ContextWindow = o.ContextWindow,
        InputPricePerMillion = o.InputPricePerMillion,
        OutputPricePerMillion = o.OutputPricePerMillion,
        FirstTokenSeconds = o.Timeouts?.FirstTokenSeconds,
        StreamIdleSeconds = o.Timeouts?.StreamIdleSeconds,
        TotalSeconds = o.Timeouts?.TotalSeconds,
    };
}
