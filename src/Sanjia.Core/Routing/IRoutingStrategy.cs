using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Routing;

/// <summary>A deployment the router may use for a request, with its run-time state and its place in the alias.</summary>
public sealed record RouteCandidate(Deployment Deployment, DeploymentState State, int Index)
{
    /// <summary>The <see cref="Index"/> of a rollout's candidate, which is not one of the alias's usual deployments (strategies never see it).</summary>
    public const int RolloutIndex = -1;

    public DeploymentSettings Settings => Deployment.Settings;
}

/// <summary>What a strategy may look at about the request: the chat request (null for other kinds of call, e.g. embeddings) and its estimated input tokens.</summary>
public sealed record RouteRequest(ChatRequest? Request, int EstimatedPromptTokens);

/// <summary>
/// A routing strategy, selected by <see cref="Name"/> per alias (<c>Sanjia:Models:&lt;alias&gt;:Strategy</c>).
/// It only orders candidates: the first is tried first, the rest are the fallbacks in order. Health, limits,
/// retries and timeouts are the router's job, so a new strategy is one small class registered in DI.
/// </summary>
public interface IRoutingStrategy
{
    string Name { get; }

    IReadOnlyList<RouteCandidate> Order(IReadOnlyList<RouteCandidate> candidates, RouteRequest request);
}

/// <summary>Every registered strategy by name.</summary>
public sealed class RoutingStrategies
{
    private readonly Dictionary<string, IRoutingStrategy> _byName;

    public RoutingStrategies(IEnumerable<IRoutingStrategy> strategies)
    {
        _byName = new Dictionary<string, IRoutingStrategy>(StringComparer.OrdinalIgnoreCase);
        foreach (var s in strategies) _byName[s.Name] = s;
    }

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public IRoutingStrategy? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The built-in strategies.</summary>
    public static IEnumerable<IRoutingStrategy> BuiltIn(IRandomSource random, IPriceLookup prices) =>
    [
        new PriorityStrategy(), new WeightedStrategy(random), new LeastBusyStrategy(), new LowestLatencyStrategy(),
        new LowestCostStrategy(prices), new PowerOfTwoStrategy(random),
    ];
}
