namespace Sanjia.Core.Routing;

/// <summary>
/// Lowest moving average of time to first token first. Deployments not yet measured go first, so each gets
/// measured once instead of being starved by an early winner.
/// </summary>
public sealed class LowestLatencyStrategy : IRoutingStrategy
{
    public string Name => "lowest-latency";

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request) =>
        [.. candidates.OrderBy(c => c.State.LatencyEwmaMs ?? -1).ThenBy(c => c.Settings.Priority).ThenBy(c => c.Index)];
}
