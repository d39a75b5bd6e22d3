namespace Sanjia.Core.Routing;

/// <summary>
/// Cheapest estimated request first: prompt tokens at the input price plus the expected output (the request's
/// <c>max_tokens</c>, else <see cref="AssumedOutputTokens"/>; none for embeddings) at the output price. Unpriced
/// deployments go last.
/// </summary>
public sealed class LowestCostStrategy(IPriceLookup prices) : IRoutingStrategy
{
    public const int AssumedOutputTokens = 256;

    public string Name => "lowest-cost";

    public IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request)
    {
        var output = request.Request is { } chat ? chat.MaxTokens ?? AssumedOutputTokens : 0;
        return
        [
            .. candidates
                .Select(c => (Candidate: c, Cost: prices.Find(c.Deployment)?.Estimate(request.EstimatedPromptTokens, output)))
                .OrderBy(x => x.Cost is null)
                .ThenBy(x => x.Cost ?? 0)
                .ThenBy(x => x.Candidate.Settings.Priority)
                .ThenBy(x => x.Candidate.Index)
                .Select(x => x.Candidate),
        ];
    }
}
