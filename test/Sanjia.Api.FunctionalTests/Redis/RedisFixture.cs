using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Redis;
using Sanjia.Testing.Redis;
using StackExchange.Redis;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>What the Redis tests share: a throwaway server (skipped without redis-server, except under CI) and the shared state over it.</summary>
internal static class RedisFixture
{
    public static async Task<RedisServer> ServerAsync()
    {
        if (RedisServer.Unavailable is { } reason)
        {
            Assert.False(RedisServer.RequiredByCi, $"CI is set, so Redis is required: {reason}");
            Skip.If(true, reason);
        }
        return await RedisServer.StartAsync();
    }

    /// <summary>One instance's view: its own multiplexer (as a separate process has), the shared server.</summary>
    public static (RedisSharedState State, ConnectionMultiplexer Connection) Instance(RedisServer server, TimeProvider time,
        Func<BudgetScope, DateTimeOffset, CancellationToken, Task<decimal>>? ledger = null, bool failOpen = false, int holdSeconds = 900)
    {
        var connection = RedisConnection.Connect(server.Configuration);
        var options = new RedisOptions { Configuration = server.Configuration, FailOpen = failOpen, HoldSeconds = holdSeconds };
        var state = new RedisSharedState(connection, options, ledger ?? ((_, _, _) => Task.FromResult(0m)), time, NullLogger<RedisSharedState>.Instance);
        return (state, connection);
    }

    /// <summary>A gateway's settings for this server, its keys under <paramref name="prefix"/> (each test its own).</summary>
    public static string[] GatewayArgs(RedisServer server, string prefix) =>
        [$"--Sanjia:Redis:Configuration={server.Configuration}", $"--Sanjia:Redis:KeyPrefix={prefix}"];

    public static FakeTimeProvider Clock(int second = 30) => new(new DateTimeOffset(2026, 12, 6, 12, 0, second, TimeSpan.Zero));

    /// <summary>
    /// Until the multiplexer has reconnected and can run a script on the primary, at most 20 s. <c>IsConnected</c> alone is
    /// not enough: it turns true when a socket is up, before the server's role is known, and a script sent in between
    /// fails with "No connection is active/available" (seen in a CI run).
    /// </summary>
    public static async Task ReconnectedAsync(ConnectionMultiplexer connection)
    {
        var db = connection.GetDatabase();
        for (var i = 0; i < 400; i++)
        {
            if (connection.IsConnected)
            {
                try
                {
                    if ((int)await db.ScriptEvaluateAsync("return 1") == 1) return;
                }
                catch (RedisConnectionException)
                {
                }
                catch (RedisServerException) // LOADING while the saved data is read back
                {
                }
            }
            await Task.Delay(50);
        }
        Assert.Fail("the multiplexer did not reconnect to the primary within 20 s");
    }
}
