using Npgsql;
using Sanjia.Api.Health;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Storage.Postgres;
using StackExchange.Redis;

namespace Sanjia.Hosting;

/// <summary>The dependencies <c>/health/ready</c> reports: the ledger journal always; PostgreSQL and Redis when configured.</summary>
internal static class HealthSetup
{
    private const string ProbeFile = ".ready-probe";

    public static IServiceCollection AddDependencyProbes(this IServiceCollection services, SanjiaOptions options)
    {
        // The journal is this instance's own: a data folder it cannot write takes it out of the load balancer (503).
        services.AddSingleton(sp =>
        {
            var ledger = sp.GetRequiredService<JournaledLedger>();
            return new DependencyProbe("journal", Local: true, _ =>
            {
                var file = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ledger.JournalPath))!, ProbeFile);
                File.WriteAllBytes(file, []);
                File.Delete(file);
                return Task.FromResult(new DependencyState(true, Pending: ledger.Pending));
            });
        });
        if (!string.IsNullOrWhiteSpace(options.Storage.Postgres))
        {
            services.AddSingleton(sp =>
            {
                var database = sp.GetRequiredService<PostgresDatabase>();
                return new DependencyProbe("postgres", Local: false, async ct =>
                {
                    await using var connection = await database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                    await using var command = new NpgsqlCommand("SELECT 1", connection);
                    await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
                    return new DependencyState(true);
                });
            });
        }
        if (!string.IsNullOrWhiteSpace(options.Redis.Configuration))
        {
            services.AddSingleton(sp =>
            {
                var redis = sp.GetRequiredService<IConnectionMultiplexer>();
                return new DependencyProbe("redis", Local: false, async _ =>
                {
                    if (!redis.IsConnected) return new DependencyState(false, "not connected (reconnecting every second)");
                    // Of the primary: the gateway's scripts (admissions, settlements) run there, and just after a
                    // reconnection a socket is up before the server's role is known, when a plain ping passes and a
                    // script is refused.
                    var rtt = await redis.GetDatabase().PingAsync(CommandFlags.DemandMaster).ConfigureAwait(false);
                    return new DependencyState(true, $"ping {rtt.TotalMilliseconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} ms");
                });
            });
        }
        return services;
    }
}
