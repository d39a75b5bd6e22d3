using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Models;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// Key, team and alias changes made through one instance's admin API reach every other instance at once: the instance
/// that made the change publishes <c>key:&lt;id&gt;</c> or <c>team:&lt;id&gt;</c> on the channel
/// <c>{prefix}:changes</c>, and each other instance reloads that key or team from the shared store (PostgreSQL) into
/// its cache. A revoked key is refused everywhere within the publish's delivery time (milliseconds). Alias promotions
/// live in each instance's data folder, not in the shared store, so the promotion itself travels: it is written to the
/// hash <c>{prefix}:aliases</c> (alias → override, or <c>-</c> once removed) and published as
/// <c>alias:&lt;alias&gt;</c> with it; the others write it to their own file and rebuild their registry. Messages lost
/// while Redis is away are not replayed: after a reconnection every instance reloads all keys and teams and reads the
/// aliases' hash (as it does at start).
/// </summary>
public sealed partial class RedisChangeFeed
{
    private readonly IConnectionMultiplexer _redis;
    private readonly VirtualKeyCache _cache;
    private readonly IKeyStore _store;
    private readonly ILogger _logger;
    private readonly RedisChannel _channel;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];
    private readonly AliasOverrides? _aliases;
    private readonly IRegistryReloader? _reloader;
    private readonly RedisKey _aliasHash;
    private const string Removed = "-";

    public RedisChangeFeed(IConnectionMultiplexer redis, VirtualKeyCache cache, IKeyStore store, RedisOptions options, ILogger<RedisChangeFeed> logger,
        AliasOverrides? aliases = null, IRegistryReloader? reloader = null)
    {
        _redis = redis;
        _cache = cache;
        _store = store;
        _logger = logger;
        _aliases = aliases;
        _reloader = reloader;
        _channel = RedisChannel.Literal("{" + options.KeyPrefix + "}:changes");
        _aliasHash = "{" + options.KeyPrefix + "}:aliases";
        cache.Changed += Publish;
        if (aliases is not null) aliases.Changed += PublishAlias;
        _ = new RedisChannelSubscription(redis, _channel, OnMessage, () =>
        {
            _ = ReloadAllAsync();
            _ = SyncAliasesAsync();
        }, reason => LogReloadFailed(_logger, "the change channel", reason));
    }

    /// <summary>At start, before serving: the promotions made through other instances (see <see cref="SyncAliasesAsync"/>).</summary>
    public Task StartAsync() => _redis.IsConnected ? SyncAliasesAsync() : Task.CompletedTask;

    /// <summary>
    /// A promotion or its removal made here: kept in the hash (for instances that start later) and published with its
    /// value, both sent without waiting, in this order on one connection, so a peer that reads the hash after the
    /// message sees it. While Redis is away it stays local and is shared at the next reconnection.
    /// </summary>
    private void PublishAlias(string alias, AliasOverride? value)
    {
        if (!_redis.IsConnected) return;
        var text = value is null ? Removed : AliasOverrides.ToJson(value);
        _redis.GetDatabase().HashSet(_aliasHash, Field(alias), text, When.Always, CommandFlags.FireAndForget);
        _redis.GetSubscriber().Publish(_channel, _instance + " alias:" + alias + "\n" + text, CommandFlags.FireAndForget);
    }

    private static string Field(string alias) => alias.ToLowerInvariant();

    /// <summary>Applies one alias's state from a peer; true when it changed anything here.</summary>
    private bool ApplyAlias(string alias, string text)
    {
        if (text == Removed) return _aliases!.SetFromPeer(alias, null);
        if (AliasOverrides.FromJson(text) is not { } value)
        {
            LogReloadFailed(_logger, "alias " + alias, "the shared promotion is not readable");
            return false;
        }
        return _aliases!.SetFromPeer(value.Alias, value);
    }

    private async Task ReloadRegistryAsync()
    {
        if (_reloader is not null && await _reloader.ReloadAsync().ConfigureAwait(false) is { Count: > 0 } errors)
        {
            LogReloadFailed(_logger, "the aliases after a promotion elsewhere", string.Join(" ", errors));
        }
    }

    /// <summary>
    /// Brings this instance and the hash together: a promotion of this instance the hash does not know (made while
    /// Redis was away, or Redis restarted empty) is added to it unless another instance added that alias first
    /// (HSETNX); then whatever the hash holds is applied here, and the registry rebuilt if anything changed.
    /// </summary>
    private async Task SyncAliasesAsync()
    {
        if (_aliases is null) return;
        try
        {
            var db = _redis.GetDatabase();
            var shared = await db.HashGetAllAsync(_aliasHash).ConfigureAwait(false);
            var known = shared.Select(e => (string)e.Name!).ToHashSet(StringComparer.Ordinal);
            var added = false;
            foreach (var o in _aliases.All)
            {
                if (known.Contains(Field(o.Alias))) continue;
                added |= await db.HashSetAsync(_aliasHash, Field(o.Alias), AliasOverrides.ToJson(o), When.NotExists).ConfigureAwait(false);
            }
            if (added) shared = await db.HashGetAllAsync(_aliasHash).ConfigureAwait(false);
            var changed = false;
            foreach (var e in shared) changed |= ApplyAlias(e.Name!, e.Value!);
            if (changed) await ReloadRegistryAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReloadFailed(_logger, "the shared alias promotions", ex.Message);
        }
    }

    private void Publish(string kind, string id)
    {
        if (!_redis.IsConnected) return; // the others reload everything when they reconnect
        _redis.GetSubscriber().Publish(_channel, _instance + " " + kind + ":" + id, CommandFlags.FireAndForget);
    }

    private void OnMessage(RedisValue message) => _ = ReceiveAsync(message!);

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
            else if (what.StartsWith("alias:", StringComparison.Ordinal) && _aliases is not null)
            {
                var end = what.IndexOf('\n', StringComparison.Ordinal);
                if (end > 6 && ApplyAlias(what[6..end], what[(end + 1)..])) await ReloadRegistryAsync().ConfigureAwait(false);
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
