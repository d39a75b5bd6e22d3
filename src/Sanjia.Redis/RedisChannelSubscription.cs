using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// One channel that an instance listens to for its peers' changes: subscribed now, or (Redis down at start) when the
/// subscription connection comes up; after every reconnection <paramref name="catchUp"/> runs, since pub/sub does not
/// replay what was published while this instance was away.
/// </summary>
internal sealed class RedisChannelSubscription
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly Action<RedisValue> _onMessage;
    private readonly Action<string> _onFailure;
    private int _subscribed;

    /// <param name="onFailure">Told why a subscription attempt failed (it is tried again at the next reconnection).</param>
    public RedisChannelSubscription(IConnectionMultiplexer redis, RedisChannel channel, Action<RedisValue> onMessage, Action catchUp, Action<string> onFailure)
    {
        _redis = redis;
        _channel = channel;
        _onMessage = onMessage;
        _onFailure = onFailure;
        redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Subscription) return;
            if (Volatile.Read(ref _subscribed) == 0) TrySubscribe();
            catchUp();
        };
        TrySubscribe();
    }

    private void TrySubscribe()
    {
        try
        {
            _redis.GetSubscriber().Subscribe(_channel, (_, message) => _onMessage(message));
            Volatile.Write(ref _subscribed, 1);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _onFailure(ex.Message);
        }
    }
}
