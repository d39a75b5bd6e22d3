using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Caching;
using Sanjia.Core.Configuration;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// The response cache's tier in Redis, shared by every instance (docs/caching.md, decision 0006). An entry is one
/// string (<see cref="CacheEntryFormat"/>) under <c>{prefix}:cache:&lt;key&gt;</c> with the alias's TTL (Redis expires
/// it); a sorted set of last uses and a hash of sizes keep the total within
/// <see cref="RedisOptions.ResponseCacheMaxBytes"/>, least recently used evicted first, in the same script that stores
/// (so <c>noeviction</c> stays right for Redis as a whole). A lookup is one script (the value and its time left, the
/// use recorded), asked only after a miss in the instance's memory; a store is sent without waiting. While Redis
/// cannot be reached, lookups are misses and stores are dropped: the cache is an optimisation, never a failure.
/// </summary>
public sealed partial class RedisResponseCache : ISharedResponseCache
{
    private static readonly RedisScript CacheGetScript = new(RedisScripts.CacheGet);

    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _maxBytes;
    private readonly string _entryPrefix;
    private readonly RedisKey _lru;
    private readonly RedisKey _sizes;
    private readonly RedisKey _total;
    private int _failing;

    public RedisResponseCache(IConnectionMultiplexer redis, RedisOptions options, TimeProvider time, ILogger<RedisResponseCache> logger)
    {
        _redis = redis;
        _time = time;
        _logger = logger;
        _maxBytes = options.ResponseCacheMaxBytes;
        _entryPrefix = options.Key("cache:");
        _lru = _entryPrefix + "lru";
        _sizes = _entryPrefix + "sizes";
        _total = _entryPrefix + "bytes";
    }

    private static string Member(UInt128 key) => key.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask<CacheEntry?> GetAsync(UInt128 key, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected) return null;
        var member = Member(key);
        RedisResult result;
        try
        {
            result = await CacheGetScript.EvaluateAsync(_redis.GetDatabase(), [_entryPrefix + member, _lru],
                [_time.GetUtcNow().ToUnixTimeMilliseconds(), member]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Failed(ex);
            return null;
        }
        Interlocked.Exchange(ref _failing, 0);
        if (result.IsNull) return null;
        var found = (RedisResult[])result!;
        var left = (long)found[1];
        if (left <= 0) return null;
        return CacheEntryFormat.Decode(key, (byte[])found[0]!, _time.GetTimestamp(), TimeSpan.FromMilliseconds(left));
    }

    public void Set(CacheEntry entry)
    {
        if (!_redis.IsConnected) return;
        var value = CacheEntryFormat.Encode(entry);
        if (value.Length > _maxBytes) return;
        var member = Member(entry.Key);
        var ttl = Math.Max(1L, (long)entry.Ttl.TotalMilliseconds);
        try
        {
            _redis.GetDatabase().ScriptEvaluate(RedisScripts.CacheSet, [_entryPrefix + member, _lru, _sizes, _total],
                [value, ttl, _time.GetUtcNow().ToUnixTimeMilliseconds(), member, value.Length, _maxBytes, _entryPrefix], CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Failed(ex);
        }
    }

    /// <summary>Logged once per outage, not per request.</summary>
    private void Failed(Exception ex)
    {
        if (Interlocked.Exchange(ref _failing, 1) == 0) LogFailed(_logger, ex.Message);
    }

    [LoggerMessage(EventId = LogEvents.SharedCacheFailed, Level = LogLevel.Warning,
        Message = "The response cache in Redis could not be reached; answering from memory and upstream meanwhile: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
