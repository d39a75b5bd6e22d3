using System.Collections.Concurrent;
using Sanjia.Abstractions;

namespace Sanjia.Core.Keys;

/// <summary>
/// Active virtual keys by secret hash, so authentication is one hash and one dictionary lookup. Loaded from the
/// store at start-up and updated by every admin write on this instance, so a revocation takes effect at once.
/// Teams are cached here too: budget checks read them on every request. A change made here by an admin write is
/// announced (<see cref="Changed"/>) so that other instances can reload it (Redis pub/sub, decision 0006); what they
/// reload is applied with <see cref="Apply"/> and <see cref="ApplyTeam"/>, which announce nothing.
/// </summary>
public sealed class VirtualKeyCache
{
    private readonly ConcurrentDictionary<string, VirtualKey> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VirtualKey> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Team> _teams = new(StringComparer.Ordinal);

    /// <summary>An admin write changed a key (<c>"key"</c>, id) or a team (<c>"team"</c>, id) on this instance.</summary>
    public event Action<string, string>? Changed;

    public async Task LoadAsync(IKeyStore store, CancellationToken cancellationToken)
    {
        foreach (var key in await store.ListKeysAsync(cancellationToken).ConfigureAwait(false))
        {
            Apply(key);
        }
        foreach (var team in await store.ListTeamsAsync(cancellationToken).ConfigureAwait(false))
        {
            _teams[team.Id] = team;
        }
    }

    public VirtualKey? FindBySecret(ReadOnlySpan<char> secret) =>
        _byHash.TryGetValue(KeySecrets.Hash(secret), out var key) ? key : null;

    public void Put(VirtualKey key)
    {
        Apply(key);
        Changed?.Invoke("key", key.Id);
    }

    /// <summary>A key as the store has it now (loaded, or changed by another instance).</summary>
    public void Apply(VirtualKey key)
    {
        if (_byId.TryGetValue(key.Id, out var old) && old.SecretHash != key.SecretHash) _byHash.TryRemove(old.SecretHash, out _);
        _byId[key.Id] = key;
        if (key.RevokedAt is null) _byHash[key.SecretHash] = key;
        else _byHash.TryRemove(key.SecretHash, out _);
    }

    public Team? Team(string? id) => id is not null && _teams.TryGetValue(id, out var t) ? t : null;

    public void PutTeam(Team team)
    {
        _teams[team.Id] = team;
        Changed?.Invoke("team", team.Id);
    }

    public void RemoveTeam(string id)
    {
        _teams.TryRemove(id, out _);
        Changed?.Invoke("team", id);
    }

    /// <summary>A team as the store has it now (null: deleted), changed by another instance.</summary>
    public void ApplyTeam(string id, Team? team)
    {
        if (team is null) _teams.TryRemove(id, out _);
        else _teams[id] = team;
    }

    /// <summary>Keys not revoked, and every team: read by the budget gauges at metrics collection (off the request path).</summary>
    public IEnumerable<VirtualKey> ActiveKeys => _byId.Values.Where(k => k.RevokedAt is null);

    public IEnumerable<Team> Teams => _teams.Values;

    /// <summary>The current version of a key by id, or null when unknown or revoked.</summary>
    public VirtualKey? ById(string? id) => id is not null && _byId.TryGetValue(id, out var k) && k.RevokedAt is null ? k : null;
}
