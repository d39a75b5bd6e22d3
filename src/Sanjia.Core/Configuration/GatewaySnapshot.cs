using Sanjia.Core.Models;

namespace Sanjia.Core.Configuration;

/// <summary>
/// One configuration in force, built whole by <see cref="GatewaySnapshotBuilder"/> and swapped in with one write
/// (<c>GatewayEngine.Swap</c>): the validated options, the providers, the registry of models over them, and the
/// routing options (<see cref="ModelRegistry.Routing"/>, which every model it resolves carries). A request captures
/// one snapshot when it resolves its model and keeps it to the end: it never sees new aliases with old retry options,
/// and the snapshot's providers stay open until it is done.
/// </summary>
public sealed class GatewaySnapshot
{
    // The holder's lease (until the snapshot is replaced) plus one per request inside the engine.
    private RefCount _leases = new();
    private readonly Action<GatewaySnapshot>? _drained;

    /// <param name="drained">Called once when the snapshot has been replaced and its last request is done.</param>
    public GatewaySnapshot(ModelRegistry registry, SanjiaOptions? options = null, Action<GatewaySnapshot>? drained = null)
    {
        Registry = registry;
        Options = options;
        _drained = drained;
    }

    /// <summary>The options it was built from (null for a registry built outside the host: tools, tests).</summary>
    public SanjiaOptions? Options { get; }

    public ModelRegistry Registry { get; }

    /// <summary>Takes a lease for one request; false once the snapshot is drained (read the current one again).</summary>
    public bool TryEnter() => _leases.TryAdd();

    /// <summary>Ends a request's lease (or, once, the holder's: <see cref="Retire"/>).</summary>
    public void Exit()
    {
        if (_leases.Release())
        {
            _drained?.Invoke(this);
        }
    }

    private int _retired;

    /// <summary>A request's lease, ended by disposing it (a struct: no allocation per request).</summary>
    public readonly struct Lease(GatewaySnapshot snapshot) : IDisposable
    {
        public GatewaySnapshot Snapshot => snapshot;

        public void Dispose() => snapshot.Exit();
    }

    /// <summary>The snapshot has been replaced: its providers are let go once its requests in flight are done.</summary>
    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Exit();
        }
    }
}
