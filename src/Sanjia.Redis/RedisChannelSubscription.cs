using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// One channel that an instance listens to for its peers' changes: subscribed now, or (Redis down at start) when the
/// subscription connection comes up; after every reconnection <paramref name="catchUp"/> runs, since pub/sub does not
/// replay what was published while this instance was away.
/// </summary>
internal sealed class RedisChannelSubscription
{
    /// <summary>Catch-up tries after one reconnection, a second apart.</summary>
    internal const int CatchUpAttempts = 60;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly Action<RedisValue> _onMessage;
    private readonly Func<Task<bool>> _catchUp;
    private readonly Action<string> _onFailure;
    private int _subscribed;
    private int _reconnections;

    /// <param name="catchUp">Reads what was missed; false when a part of it failed (it logs why), and it is tried again.</param>
    /// <param name="onFailure">Told why a subscription attempt failed (it is tried again at the next reconnection).</param>
    public RedisChannelSubscription(IConnectionMultiplexer redis, RedisChannel channel, Action<RedisValue> onMessage, Func<Task<bool>> catchUp, Action<string> onFailure)
    {
        _redis = redis;
        _channel = channel;
        _onMessage = onMessage;
        _catchUp = catchUp;
        _onFailure = onFailure;
        redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Subscription) return;
            if (Volatile.Read(ref _subscribed) == 0) TrySubscribe();
            _ = CatchUpAsync(Interlocked.Increment(ref _reconnections));
        };
        TrySubscribe();
    }

    /// <summary>
    /// A catch-up now (at start, when the feed reads what was published before it), tried again as after a
    /// reconnection; a reconnection meanwhile takes over.
    /// </summary>
    public void CatchUpNow() => _ = CatchUpAsync(Interlocked.Increment(ref _reconnections));

    /// <summary>
    /// The catch-up, again every second until it works: just after a reconnection a socket is up before the server's
    /// role is known, and a write or a script sent then is refused ("No connection is active/available"); without a
    /// second try a rollout put back into an emptied Redis stayed out of it until the next reconnection. At most
    /// <see cref="CatchUpAttempts"/> tries; a newer reconnection takes over.
    /// </summary>
    private async Task CatchUpAsync(int reconnection)
    {
        for (var attempt = 0; attempt < CatchUpAttempts; attempt++)
        {
            if (attempt > 0) await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            if (Volatile.Read(ref _reconnections) != reconnection) return;
            if (await _catchUp().ConfigureAwait(false)) return;
        }
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
