using System.Collections.Concurrent;
using Sanjia.Abstractions;

namespace Sanjia.Core.Keys;

/// <summary>
/// Active virtual keys by secret hash, so authentication is one hash and one dictionary lookup. Loaded from the
/// store at start-up and updated by every admin write on this instance, so a revocation takes effect at once.
/// Teams are cached here too: budget checks read them on every request.
/// </summary>
public sealed class VirtualKeyCache
{
    private readonly ConcurrentDictionary<string, VirtualKey> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VirtualKey> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Team> _teams = new(StringComparer.Ordinal);

    public async Task LoadAsync(IKeyStore store, CancellationToken cancellationToken)
    {
        foreach (var key in await store.ListKeysAsync(cancellationToken).ConfigureAwait(false))
        {
            Put(key);
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
        _byId[key.Id] = key;
        if (key.RevokedAt is null) _byHash[key.SecretHash] = key;
        else _byHash.TryRemove(key.SecretHash, out _);
    }

    public Team? Team(string? id) => id is not null && _teams.TryGetValue(id, out var t) ? t : null;

    public void PutTeam(Team team) => _teams[team.Id] = team;

    public void RemoveTeam(string id) => _teams.TryRemove(id, out _);

    /// <summary>The current version of a key by id, or null when unknown or revoked.</summary>
    public VirtualKey? ById(string? id) => id is not null && _byId.TryGetValue(id, out var k) && k.RevokedAt is null ? k : null;
}
