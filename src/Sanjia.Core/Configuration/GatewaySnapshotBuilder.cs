using Sanjia.Core.Models;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Configuration;

/// <summary>
/// The one way validated options become the configuration in force, at start-up and on every reload: providers
/// (from every <see cref="IProviderSource"/>) → registry of models over them → routing options, as one
/// <see cref="GatewaySnapshot"/>. It also owns the providers' lifetimes: a provider whose settings did not change is
/// carried over from the previous snapshot (same instance, same open connections); a provider is disposed when no
/// snapshot that holds it has a request left (a reload's replaced providers once their requests finish), and all of
/// them when the builder is disposed at shutdown.
/// </summary>
public sealed class GatewaySnapshotBuilder(IEnumerable<IProviderSource> sources, IReadOnlyCollection<string> strategies, TimeProvider time,
    AliasOverrides? overrides = null, AliasRollouts? rollouts = null) : IDisposable
{
    private readonly Lock _gate = new();
    // Each provider in use, with the number of snapshots holding it that are not yet drained.
    private readonly Dictionary<IProvider, int> _holders = new(ReferenceEqualityComparer.Instance);
    private GatewaySnapshot? _latest;
    private bool _disposed;

    /// <summary>
    /// Builds the snapshot for <paramref name="options"/> (already bound and checked by <see cref="OptionsValidator"/>);
    /// null, with every error and its path in <paramref name="errors"/>, when it does not hold together.
    /// </summary>
    public GatewaySnapshot? Build(SanjiaOptions options, ConfigErrors errors)
    {
        RoutingValidator.Validate(options, strategies, errors);
        var created = sources.SelectMany(s => s.Create(options, errors)).ToList();
        var providers = new List<IProvider>(created.Count);
        var discarded = new List<IProvider>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var previous = new Dictionary<string, IProvider>(StringComparer.OrdinalIgnoreCase);
            foreach (var p in _latest?.Registry.Providers ?? []) previous[p.Name] = p;
            foreach (var p in created)
            {
                if (previous.Remove(p.Name, out var old) && old is IReusableProvider reusable && reusable.SameSettings(p))
                {
                    providers.Add(old);
                    discarded.Add(p);
                }
                else
                {
                    providers.Add(p);
                }
            }
        }
        var registry = new ModelRegistry(providers, overrides?.Apply(options.Models) ?? options.Models, errors, time.GetUtcNow(), options.Routing, options.Cache,
            rollouts?.RunningNow);
        if (errors.Any)
        {
            // Nothing of it goes into force: the new providers go (they have opened no connection), the reused stay.
            DisposeAll(created);
            return null;
        }
        DisposeAll(discarded);
        var snapshot = new GatewaySnapshot(registry, options, Drained);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var p in registry.Providers)
            {
                _holders[p] = _holders.GetValueOrDefault(p) + 1;
            }
            _latest = snapshot;
        }
        return snapshot;
    }

    /// <summary>The providers held by at least one snapshot still in force or with requests in flight.</summary>
    public int LiveProviders
    {
        get { lock (_gate) return _holders.Count; }
    }

    private void Drained(GatewaySnapshot snapshot)
    {
        var gone = new List<IProvider>();
        lock (_gate)
        {
            foreach (var p in snapshot.Registry.Providers)
            {
                if (!_holders.TryGetValue(p, out var n)) continue; // already disposed at shutdown
                if (n > 1)
                {
                    _holders[p] = n - 1;
                }
                else
                {
                    _holders.Remove(p);
                    gone.Add(p);
                }
            }
        }
        DisposeAll(gone);
    }

    private static void DisposeAll(IEnumerable<IProvider> providers)
    {
        foreach (var p in providers)
        {
            (p as IDisposable)?.Dispose();
        }
    }

    /// <summary>At shutdown: every provider goes (an HTTP provider's connections close as its last answers end).</summary>
    public void Dispose()
    {
        List<IProvider> all;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            all = [.. _holders.Keys];
            _holders.Clear();
        }
        DisposeAll(all);
    }
}
