namespace Sanjia.Core.Routing;

/// <summary>
/// Power of two choices: draw two deployments at random and take the less busy (then the faster); the other one
/// is the first fallback, the rest follow by priority. Spreads load without a global scan or herding.
/// </summary>
public sealed class PowerOfTwoStrategy(IRandomSource random) : IRoutingStrategy
{
    public string Name => "power-of-two";

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request)
    {
        if (candidates.Count < 2) return candidates;
        var i = random.Next(candidates.Count);
        var j = random.Next(candidates.Count - 1);
        if (j >= i) j++;
        var (a, b) = (candidates[i], candidates[j]);
        var aFirst = a.State.InFlight != b.State.InFlight ? a.State.InFlight < b.State.InFlight
            : (a.State.LatencyEwmaMs ?? 0) <= (b.State.LatencyEwmaMs ?? 0);
        var (first, second) = aFirst ? (a, b) : (b, a);
        return [first, second, .. PriorityStrategy.ByPriority(candidates.Where(c => c != first && c != second))];
    }
}
