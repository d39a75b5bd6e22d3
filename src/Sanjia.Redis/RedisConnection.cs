using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>The process's one connection to Redis (a multiplexer shared by every request: no per-request set-up).</summary>
public static class RedisConnection
{
    /// <summary>
    /// Parses a StackExchange.Redis configuration string (throws <see cref="ArgumentException"/> when it cannot) and
    /// sets what the gateway relies on: start and keep running while Redis is down, reconnecting by itself
    /// (<c>abortConnect=false</c>, a retry every second); fail a command at once while disconnected instead of queueing
    /// it (the caller then applies its fail-closed/fail-open rule); and, unless the string says otherwise, 2 s to
    /// connect and 1 s for a command: Redis answers in well under a millisecond, so a second means it is gone.
    /// </summary>
    public static ConfigurationOptions Options(string configuration)
    {
        var o = ConfigurationOptions.Parse(configuration);
        o.AbortOnConnectFail = false;
        o.BacklogPolicy = BacklogPolicy.FailFast;
        o.ReconnectRetryPolicy = new LinearRetry(1000);
        if (!Mentions(configuration, "connectTimeout")) o.ConnectTimeout = 2000;
        if (!Mentions(configuration, "asyncTimeout")) o.AsyncTimeout = 1000;
        if (!Mentions(configuration, "syncTimeout")) o.SyncTimeout = 1000;
        o.ClientName ??= "sanjia";
        return o;
    }

    public static ConnectionMultiplexer Connect(string configuration) => ConnectionMultiplexer.Connect(Options(configuration));

    private static bool Mentions(string configuration, string option) =>
        configuration.Contains(option + "=", StringComparison.OrdinalIgnoreCase);
}
