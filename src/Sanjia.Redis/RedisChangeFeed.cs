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
/// <para>
/// Gradual rollouts travel the same way, with a version: the hash <c>{prefix}:rollouts</c> holds each alias's rollout
/// (JSON) and <c>{prefix}:rollout-versions</c> its version. A change (start, a step's decision, an abort) is taken by
/// one script only over the version before it, which also publishes <c>rollout:&lt;alias&gt;</c> with the rollout, so
/// of two instances deciding the same step exactly one wins and the others apply its decision.
/// </para>
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
    private readonly AliasRollouts? _rollouts;
    private readonly RedisKey _rolloutHash;
    private readonly RedisKey _rolloutVersions;
    private const string Removed = "-";

    /// <summary>
    /// Takes a rollout only over the version before it (none = 0), and publishes it: KEYS = rollouts, versions; ARGV =
    /// alias field, version, rollout JSON, channel, message. 1 taken, 0 another change came first.
    /// </summary>
    private const string CommitRolloutScript = """
        local v = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
        if v ~= tonumber(ARGV[2]) - 1 then return 0 end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        redis.call('PUBLISH', ARGV[4], ARGV[5])
        return 1
        """;

    public RedisChangeFeed(IConnectionMultiplexer redis, VirtualKeyCache cache, IKeyStore store, RedisOptions options, ILogger<RedisChangeFeed> logger,
        AliasOverrides? aliases = null, IRegistryReloader? reloader = null, AliasRollouts? rollouts = null)
    {
        _redis = redis;
        _cache = cache;
        _store = store;
        _logger = logger;
        _aliases = aliases;
        _reloader = reloader;
        _channel = RedisChannel.Literal(options.Key("changes"));
        _aliasHash = options.Key("aliases");
        _rollouts = rollouts;
        _rolloutHash = options.Key("rollouts");
        _rolloutVersions = options.Key("rollout-versions");
        cache.Changed += Publish;
        if (aliases is not null) aliases.Changed += PublishAlias;
        if (rollouts is not null) rollouts.Shared = CommitRolloutAsync;
        _ = new RedisChannelSubscription(redis, _channel, OnMessage, async () =>
        {
            var keys = ReloadAllAsync();
            var aliases = await SyncAliasesAsync().ConfigureAwait(false);
            var rollouts = await SyncRolloutsAsync().ConfigureAwait(false);
            return await keys.ConfigureAwait(false) & aliases & rollouts;
        }, reason => LogReloadFailed(_logger, "the change channel", reason));
    }

    /// <summary>At start, before serving: the promotions and rollouts made through other instances (see <see cref="SyncAliasesAsync"/>, <see cref="SyncRolloutsAsync"/>).</summary>
    public async Task StartAsync()
    {
        if (!_redis.IsConnected) return;
        await SyncAliasesAsync().ConfigureAwait(false);
        await SyncRolloutsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A rollout change decided here, taken in Redis only over the version before it and published in the same script.
    /// False when another instance's change came first, or Redis cannot be reached: a rollout does not move (nor
    /// start, nor end) while the instances cannot agree on it.
    /// </summary>
    private async Task<bool> CommitRolloutAsync(AliasRollout next)
    {
        if (!_redis.IsConnected) return false;
        var text = AliasRollouts.ToJson(next);
        try
        {
            var taken = await _redis.GetDatabase().ScriptEvaluateAsync(CommitRolloutScript, [_rolloutHash, _rolloutVersions],
                [Field(next.Alias), next.Version, text, _channel.ToString(), _instance + " rollout:" + next.Alias + "\n" + text]).ConfigureAwait(false);
            return (long)taken == 1;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReloadFailed(_logger, "rollout " + next.Alias, ex.Message);
            return false;
        }
    }

    /// <summary>Applies one alias's rollout from a peer (and, for one that completed, the promotion it leaves); true when it changed anything here.</summary>
    private bool ApplyRollout(string text)
    {
        if (AliasRollouts.FromJson(text) is not { } value)
        {
            LogReloadFailed(_logger, "a rollout", "the shared rollout is not readable");
            return false;
        }
        if (!_rollouts!.SetFromPeer(value)) return false;
        // The promotion the deciding instance publishes is this same one: whichever arrives first, the other changes nothing.
        if (value.Promotion is { } promotion) _aliases?.SetFromPeer(promotion.Alias, promotion);
        return true;
    }

    /// <summary>
    /// Brings this instance's rollouts and the hash together: one the hash does not know (Redis restarted empty) is
    /// added with its version unless another instance added that alias first; then every rollout newer in the hash
    /// than here is applied, and the registry rebuilt if anything changed.
    /// </summary>
    private async Task<bool> SyncRolloutsAsync()
    {
        if (_rollouts is null) return true;
        try
        {
            var db = _redis.GetDatabase();
            foreach (var r in _rollouts.All)
            {
                if (await db.HashSetAsync(_rolloutVersions, Field(r.Alias), r.Version, When.NotExists).ConfigureAwait(false))
                {
                    await db.HashSetAsync(_rolloutHash, Field(r.Alias), AliasRollouts.ToJson(r)).ConfigureAwait(false);
                }
            }
            var changed = false;
            foreach (var e in await db.HashGetAllAsync(_rolloutHash).ConfigureAwait(false)) changed |= ApplyRollout(e.Value!);
            if (changed) await ReloadRegistryAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReloadFailed(_logger, "the shared rollouts", ex.Message);
            return false;
        }
    }

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
    private async Task<bool> SyncAliasesAsync()
    {
        if (_aliases is null) return true;
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
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReloadFailed(_logger, "the shared alias promotions", ex.Message);
            return false;
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
            else if (what.StartsWith("rollout:", StringComparison.Ordinal) && _rollouts is not null)
            {
                var end = what.IndexOf('\n', StringComparison.Ordinal);
                if (end > 8 && ApplyRollout(what[(end + 1)..])) await ReloadRegistryAsync().ConfigureAwait(false);
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

    private async Task<bool> ReloadAllAsync()
    {
        try
        {
            await _cache.LoadAsync(_store, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            LogReloadFailed(_logger, "all keys", ex.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = LogEvents.SharedChangeReloadFailed, Level = LogLevel.Warning,
        Message = "Reloading {What} after a change announced by another instance failed: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string what, string reason);
}
