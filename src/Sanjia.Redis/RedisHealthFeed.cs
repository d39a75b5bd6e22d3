using System.Globalization;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Routing.Health;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// Breakers and cool-downs shared by every instance (decision 0006): when one instance's breaker for a deployment
/// opens or closes, or a vendor's <c>Retry-After</c> makes it cool a deployment, it publishes that on
/// <c>{prefix}:health</c> and records it in the hash of the same name; every other instance applies it to its own
/// copy (<see cref="DeploymentStateStore"/>). The request path reads only that local copy: no Redis round trip per
/// request, and a message only when a state changes. Times are absolute (the instances' clocks are synchronised, as
/// for budgets). An instance that starts, or reconnects after missing messages, reads the hash and applies what has
/// not ended yet.
/// </summary>
public sealed partial class RedisHealthFeed
{
    private readonly IConnectionMultiplexer _redis;
    private readonly DeploymentStateStore _states;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisChannel _channel;
    private readonly RedisKey _hash;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];

    public RedisHealthFeed(IConnectionMultiplexer redis, DeploymentStateStore states, RedisOptions options, TimeProvider time, ILogger<RedisHealthFeed> logger)
    {
        _redis = redis;
        _states = states;
        _time = time;
        _logger = logger;
        _channel = RedisChannel.Literal(options.Key("health"));
        _hash = options.Key("health");
        states.Changed += Publish;
        _ = new RedisChannelSubscription(redis, _channel, message => Receive(message!), CatchUpAsync,
            reason => LogFailed(_logger, "subscribing to the health channel", reason));
    }

    /// <summary>Reads what is in force now (at start, before serving; again after each reconnection).</summary>
    public Task StartAsync() => CatchUpAsync();

    /// <summary>
    /// One change of this instance, sent without waiting (fire and forget on the multiplexer): published, and kept in
    /// the hash for instances that start later (a closed breaker's entry is removed). While Redis is away the change
    /// stays local; peers that miss it find out by themselves, as before sharing.
    /// </summary>
    private void Publish(HealthChange change)
    {
        if (!_redis.IsConnected) return;
        var payload = Format(change);
        var db = _redis.GetDatabase();
        var field = Field(change.Kind, change.Deployment);
        if (change.Kind == HealthChangeKind.Closed) db.HashDelete(_hash, Field(HealthChangeKind.Opened, change.Deployment), CommandFlags.FireAndForget);
        else db.HashSet(_hash, field, payload, When.Always, CommandFlags.FireAndForget);
        _redis.GetSubscriber().Publish(_channel, _instance + "\t" + payload, CommandFlags.FireAndForget);
    }

    private static string Field(HealthChangeKind kind, string deployment) =>
        (kind == HealthChangeKind.Cooling ? "cool:" : "open:") + deployment;

    private void Receive(string message)
    {
        var tab = message.IndexOf('\t', StringComparison.Ordinal);
        if (tab < 0 || message.AsSpan(0, tab).SequenceEqual(_instance)) return;
        Apply(message[(tab + 1)..]);
    }

    private void Apply(string payload)
    {
        if (Parse(payload) is not { } change)
        {
            LogFailed(_logger, "reading a health change", payload.Length > 200 ? payload[..200] : payload);
            return;
        }
        _states.Get(change.Deployment).ApplyFromPeer(change);
    }

    private async Task<bool> CatchUpAsync()
    {
        try
        {
            var entries = await _redis.GetDatabase().HashGetAllAsync(_hash).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            foreach (var e in entries)
            {
                if (Parse(e.Value!) is { } change && change.At > now) _states.Get(change.Deployment).ApplyFromPeer(change);
            }
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogFailed(_logger, "reading the shared health state", ex.Message);
            return false;
        }
    }

    /// <summary>
    /// <c>kind, deployment, time (unix ms)</c>, then for a cool-down the upstream error's kind, code, status and
    /// message, tab-separated (a message's own tabs and line ends become spaces).
    /// </summary>
    public static string Format(HealthChange c)
    {
        var head = string.Join('\t', c.Kind.ToString(), c.Deployment, c.At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        if (c.Cause is not { } e) return head;
        var message = e.Message.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
        return string.Join('\t', head, e.Kind.ToString(), e.Code ?? "",
            e.UpstreamStatus?.ToString(CultureInfo.InvariantCulture) ?? "",
            e.RetryAfter is { } ra ? ((long)ra.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : "", message);
    }

    public static HealthChange? Parse(string payload)
    {
        var f = payload.Split('\t');
        if (f.Length < 3 || !Enum.TryParse<HealthChangeKind>(f[0], out var kind)
            || !long.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
        {
            return null;
        }
        GatewayError? cause = null;
        if (f.Length >= 8 && Enum.TryParse<GatewayErrorKind>(f[3], out var errorKind))
        {
            cause = new GatewayError(errorKind, f[7])
            {
                Code = f[4].Length > 0 ? f[4] : null,
                UpstreamStatus = int.TryParse(f[5], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : null,
                RetryAfter = long.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ra) ? TimeSpan.FromMilliseconds(ra) : null,
            };
        }
        return new HealthChange(f[1], kind, DateTimeOffset.FromUnixTimeMilliseconds(ms), cause);
    }

    [LoggerMessage(EventId = LogEvents.SharedHealthFailed, Level = LogLevel.Warning,
        Message = "Shared health state: {What} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string what, string reason);
}
