using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// Key and team changes made through one instance's admin API reach every other instance at once: the instance that
/// made the change publishes <c>key:&lt;id&gt;</c> or <c>team:&lt;id&gt;</c> on the channel <c>{prefix}:changes</c>,
/// and each other instance reloads that key or team from the shared store (PostgreSQL) into its cache. A revoked key
/// is refused everywhere within the publish's delivery time (milliseconds). Messages lost while Redis is away are not
/// replayed: after a reconnection every instance reloads all keys and teams.
/// </summary>
public sealed partial class RedisChangeFeed
{
    private readonly IConnectionMultiplexer _redis;
    private readonly VirtualKeyCache _cache;
    private readonly IKeyStore _store;
    private readonly ILogger _logger;
    private readonly RedisChannel _channel;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];

    public RedisChangeFeed(IConnectionMultiplexer redis, VirtualKeyCache cache, IKeyStore store, RedisOptions options, ILogger<RedisChangeFeed> logger)
    {
        _redis = redis;
        _cache = cache;
        _store = store;
        _logger = logger;
        _channel = RedisChannel.Literal("{" + options.KeyPrefix + "}:changes");
        cache.Changed += Publish;
        redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Subscription) return;
            if (Volatile.Read(ref _subscribed) == 0) TrySubscribe();
            _ = ReloadAllAsync();
        };
        TrySubscribe();
    }

    private int _subscribed;

    /// <summary>Subscribes now, or (Redis down at start) when the connection is restored.</summary>
    private void TrySubscribe()
    {
        try
        {
            _redis.GetSubscriber().Subscribe(_channel, OnMessage);
            Volatile.Write(ref _subscribed, 1);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReloadFailed(_logger, "the change channel", ex.Message);
        }
    }

    private void Publish(string kind, string id)
    {
        if (!_redis.IsConnected) return; // the others reload everything when they reconnect
        _redis.GetSubscriber().Publish(_channel, _instance + " " + kind + ":" + id, CommandFlags.FireAndForget);
    }

    private void OnMessage(RedisChannel channel, RedisValue message) => _ = ReceiveAsync(message!);

    private async Task ReceiveAsync(string message)
    {
        var space = message.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || message.AsSpan(0, space).SequenceEqual(_instance)) return;
        var what = message[(space + 1)..];
        try
        {
            if (what.StartsWith("key:", StringComparison.Ordinal))
            {
                if (await _store.GetKeyAsync(what[4..], CancellationToken.None).ConfigureAwait(false) is { } key) _cache.Apply(key);
            }
            else if (what.StartsWith("team:", StringComparison.Ordinal))
            {
                var id = what[5..];
                _cache.ApplyTeam(id, await _store.GetTeamAsync(id, CancellationToken.None).ConfigureAwait(false));
            }
        }
        catch (Exception ex)
        {
            LogReloadFailed(_logger, what, ex.Message);
        }
    }

    private async Task ReloadAllAsync()
    {
        try
        {
            await _cache.LoadAsync(_store, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogReloadFailed(_logger, "all keys", ex.Message);
        }
    }

    [LoggerMessage(EventId = LogEvents.SharedChangeReloadFailed, Level = LogLevel.Warning,
        Message = "Reloading {What} after a change announced by another instance failed: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string what, string reason);
}
