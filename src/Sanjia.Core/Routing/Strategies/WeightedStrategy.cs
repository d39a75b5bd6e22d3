namespace Sanjia.Core.Routing;

/// <summary>
/// Picks deployments at random in proportion to <c>Weight</c>; fallbacks are drawn the same way from the rest.
/// Weight 0 keeps a deployment as a last resort only.
/// </summary>
public sealed class WeightedStrategy(IRandomSource random) : IRoutingStrategy
{
    public string Name => "weighted";

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request)
    {
        var pool = candidates.Where(c => c.Settings.Weight > 0).ToList();
        var result = new List<RouteCandidate>(candidates.Count);
        while (pool.Count > 0)
        {
            var total = pool.Sum(c => c.Settings.Weight);
            var r = random.NextDouble() * total;
            var pick = pool.Count - 1;
            for (var i = 0; i < pool.Count; i++)
            {
                r -= pool[i].Settings.Weight;
                if (r < 0)
                {
                    pick = i;
                    break;
                }
            }
            result.Add(pool[pick]);
            pool.RemoveAt(pick);
        }
        result.AddRange(PriorityStrategy.ByPriority(candidates.Where(c => c.Settings.Weight <= 0)));
        return result;
    }
}
