namespace Sanjia.Core.Routing;

/// <summary>The default: lowest <c>Priority</c> first, ties in the order listed.</summary>
public sealed class PriorityStrategy : IRoutingStrategy
{
    public const string StrategyName = "priority";

    public string Name => StrategyName;

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request) => ByPriority(candidates);

    /// <summary>The fallback order every strategy uses for what it does not rank itself.</summary>
    public static List<RouteCandidate> ByPriority(IEnumerable<RouteCandidate> candidates) =>
        [.. candidates.OrderBy(c => c.Settings.Priority).ThenBy(c => c.Index)];
}
