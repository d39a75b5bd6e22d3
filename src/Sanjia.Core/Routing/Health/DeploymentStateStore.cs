using System.Collections.Concurrent;
using Sanjia.Core.Models;

namespace Sanjia.Core.Routing.Health;

/// <summary>Run-time state of every deployment by id; outlives registry swaps so a reload keeps what was learnt.</summary>
public sealed class DeploymentStateStore(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DeploymentState> _states = new(StringComparer.OrdinalIgnoreCase);

    public DeploymentState Get(Deployment deployment) => _states.GetOrAdd(deployment.Id, id => new DeploymentState(id, time));

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
