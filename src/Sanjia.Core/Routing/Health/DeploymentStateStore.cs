using System.Collections.Concurrent;
using Sanjia.Core.Models;

namespace Sanjia.Core.Routing.Health;

/// <summary>
/// Run-time state of every deployment by id; outlives registry swaps so a reload keeps what was learnt. Breakers
/// opening and closing and cool-downs starting are raised on <see cref="Changed"/> (at state changes only, never per
/// request); with Redis configured, <c>RedisHealthFeed</c> shares them with the other instances and applies theirs.
/// </summary>
public sealed class DeploymentStateStore
{
    private readonly ConcurrentDictionary<string, DeploymentState> _states = new(StringComparer.OrdinalIgnoreCase);
    private readonly Func<string, DeploymentState> _create;

    public DeploymentStateStore(TimeProvider time)
    {
        _create = id => new DeploymentState(id, time, Raise);
    }

    /// <summary>A breaker of this instance opened or closed, or a deployment started cooling.</summary>
    public event Action<HealthChange>? Changed;

    private void Raise(HealthChange change) => Changed?.Invoke(change);

    public DeploymentState Get(Deployment deployment) => _states.GetOrAdd(deployment.Id, _create);

    /// <summary>The state of a deployment by id, created when this instance has not routed to it yet (a peer's report).</summary>
    public DeploymentState Get(string id) => _states.GetOrAdd(id, _create);

    public DeploymentState? Find(string id) => _states.GetValueOrDefault(id);

    /// <summary>Every deployment's state (a moment's copy): read by the metrics at collection time.</summary>
    public ICollection<DeploymentState> All => _states.Values;

    /// <summary>Forgets deployments no longer configured (called after a reload).</summary>
    public void Retain(IEnumerable<string> ids)
    {
        var keep = new HashSet<string>(ids, StringComparer.OrdinalIgnoreCase);
        foreach (var id in _states.Keys)
        {
            if (!keep.Contains(id) && _states.TryGetValue(id, out var s) && s.InFlight == 0)
            {
                _states.TryRemove(id, out _);
            }
        }
    }
}
