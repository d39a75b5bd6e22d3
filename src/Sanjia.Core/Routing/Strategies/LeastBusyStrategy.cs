namespace Sanjia.Core.Routing;

/// <summary>Fewest requests in flight first; ties by priority.</summary>
public sealed class LeastBusyStrategy : IRoutingStrategy
{
    public string Name => "least-busy";

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request) =>
        [.. candidates.OrderBy(c => c.State.InFlight).ThenBy(c => c.Settings.Priority).ThenBy(c => c.Index)];
}
