using Sanjia.Core.Configuration;
using Sanjia.Core.Security;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// The web console's sessions in Redis, so that a browser signed in through one instance is signed in on all of them
/// and signing out ends the session everywhere (docs/console.md). One string per session under
/// <c>{prefix}:session:&lt;SHA-256 of its id&gt;</c>, with the session's lifetime as its TTL; the value is the session
/// record encrypted by <c>ConsoleSessions</c> with a key derived from the master key, so Redis holds no usable key.
/// </summary>
public sealed class RedisSessionStore(IConnectionMultiplexer redis, RedisOptions options) : ISharedSessionStore
{
    private readonly string _prefix = options.Key("session:");

    public async Task<byte[]?> GetAsync(string id, CancellationToken cancellationToken) =>
        (byte[]?)await redis.GetDatabase().StringGetAsync(_prefix + id).ConfigureAwait(false);

    public Task SetAsync(string id, byte[] record, TimeSpan lifetime, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(_prefix + id, record, lifetime);

    public Task RemoveAsync(string id, CancellationToken cancellationToken) =>
        redis.GetDatabase().KeyDeleteAsync(_prefix + id);
}
