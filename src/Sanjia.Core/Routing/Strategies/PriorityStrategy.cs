namespace Sanjia.Core.Routing;

/// <summary>The default: lowest <c>Priority</c> first, ties in the order listed.</summary>
public sealed class PriorityStrategy : IRoutingStrategy
{
    public const string StrategyName = "priority";

    public string Name => StrategyName;

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request) => ByPriority(candidates);

    /// <summary>The fallback order every strategy uses for what it does not rank itself.</summary>
    public static List<RouteCandidate> ByPriority(IEnumerable<RouteCandidate> candidates)
    {
        // (priority, index) is a total order (indexes are unique), so the unstable List.Sort gives the stable result
        // without LINQ's per-request ordering machinery.
        var sorted = new List<RouteCandidate>(candidates);
        sorted.Sort(static (a, b) => a.Settings.Priority != b.Settings.Priority ? a.Settings.Priority.CompareTo(b.Settings.Priority) : a.Index.CompareTo(b.Index));
        return sorted;
    }
}
