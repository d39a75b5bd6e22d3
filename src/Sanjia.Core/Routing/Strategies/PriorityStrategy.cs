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
        // A stable insertion sort: lists are a handful of deployments, and this runs on every request.
        var sorted = candidates is IReadOnlyCollection<RouteCandidate> known ? new List<RouteCandidate>(known.Count) : [];
        foreach (var c in candidates)
        {
            var at = sorted.Count;
            while (at > 0 && Before(c, sorted[at - 1])) at--;
            sorted.Insert(at, c);
        }
        return sorted;

        static bool Before(RouteCandidate a, RouteCandidate b) =>
            a.Settings.Priority != b.Settings.Priority ? a.Settings.Priority < b.Settings.Priority : a.Index < b.Index;
    }
}
