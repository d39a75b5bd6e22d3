using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Budgets;
using Sanjia.Core.Caching;
using Sanjia.Core.Caching.Semantic;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Metering;
using Sanjia.Core.Models;
using Sanjia.Core.Routing.Health;
using Sanjia.Redis;
using StackExchange.Redis;

namespace Sanjia.Hosting;

/// <summary>
/// Shared budgets and rate limits through Redis when <c>Sanjia:Redis:Configuration</c> is set (decision 0006): one
/// multiplexer for the process, and <see cref="RedisSharedState"/> in place of the in-memory budget tracker (and for
/// shadow budgets). Not set,
/// nothing is registered and the request path is as without this file.
/// </summary>
internal static class RedisSetup
{
    private const string P = SanjiaOptions.Section + ":Redis";

    public static IServiceCollection AddSanjiaRedis(this IServiceCollection services, SanjiaOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Redis.Configuration)) return services;
        // Connects in the background when Redis is down at start: the gateway serves, budgeted keys fail closed
        // (or open) until it answers.
        services.AddSingleton<IConnectionMultiplexer>(_ => RedisConnection.Connect(options.Redis.Configuration));
        services.AddSingleton(sp =>
        {
            var spend = sp.GetRequiredService<LedgerSpend>();
            var journal = sp.GetRequiredService<JournaledLedger>();
            var rows = sp.GetService<ILedgerStore>() as ILedgerQuery;
            return new RedisSharedState(sp.GetRequiredService<IConnectionMultiplexer>(), options.Redis,
                (scope, since, ct) => spend.SpentSinceAsync(scope.Kind, scope.Id, scope.Budget.Currency, since, ct),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisSharedState>>(),
                rows is null ? null : async (keyId, from, to, ct) =>
                {
                    // A key's last minute: bounded, as a key's RPM bounds its requests (a TPM-only key's beyond this
                    // many rows are not replayed).
                    await journal.FlushAsync(ct).ConfigureAwait(false);
                    var page = await rows.QueryAsync(new LedgerFilter { KeyId = keyId, From = from, To = to, Limit = 10_000 }, ct).ConfigureAwait(false);
                    return [.. page.Select(r => r.Entry)];
                });
        });
        services.AddSingleton<IAdmissionStore>(sp => sp.GetRequiredService<RedisSharedState>());
        services.AddSingleton<ISharedBudgets>(sp => sp.GetRequiredService<RedisSharedState>());
        services.Replace(ServiceDescriptor.Singleton<IBudgetTracker>(sp => sp.GetRequiredService<RedisSharedState>()));
        services.AddSingleton(sp => new RedisChangeFeed(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<VirtualKeyCache>(),
            sp.GetRequiredService<IKeyStore>(), options.Redis, sp.GetRequiredService<ILogger<RedisChangeFeed>>(),
            sp.GetRequiredService<AliasOverrides>(), sp.GetRequiredService<IRegistryReloader>(), sp.GetRequiredService<AliasRollouts>()));
        if (options.Redis.ResponseCache)
        {
            services.AddSingleton<ISharedResponseCache>(sp => new RedisResponseCache(sp.GetRequiredService<IConnectionMultiplexer>(), options.Redis,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisResponseCache>>()));
            // The semantic cache's questions too: their answers are in that tier, so any instance can answer a paraphrase.
            services.AddSingleton(sp => new RedisSemanticFeed(sp.GetRequiredService<IConnectionMultiplexer>(), options.Redis,
                sp.GetRequiredService<SemanticCache>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisSemanticFeed>>()));
        }
        // The web console's sessions, so that every instance behind the load balancer knows a browser's sign-in.
        services.AddSingleton<Sanjia.Core.Security.ISharedSessionStore>(sp => new RedisSessionStore(sp.GetRequiredService<IConnectionMultiplexer>(), options.Redis));
        services.AddSingleton(sp => new RedisHealthFeed(sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<DeploymentStateStore>(),
            options.Redis, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisHealthFeed>>()));
        return services;
    }

    /// <summary>
    /// Before serving: the response cache's Redis tier and the semantic cache's questions; subscribe to other instances'
    /// key, team, alias, breaker and cool-down changes, and take the promotions and open breakers in force now (when Redis is configured; a Redis down at start is caught up with
    /// when it connects).
    /// </summary>
    public static void Start(IServiceProvider services)
    {
        // The response cache's answers in Redis too, behind each instance's memory (docs/caching.md).
        if (services.GetService<ISharedResponseCache>() is { } tier) services.GetRequiredService<ResponseCache>().Shared = tier;
        if (services.GetService<RedisSemanticFeed>() is { } feed)
        {
            services.GetRequiredService<SemanticCache>().Peers!.Feed = feed;
            feed.Start(); // the other instances' questions still in Redis, read in the background
        }
        services.GetService<RedisChangeFeed>()?.StartAsync().GetAwaiter().GetResult();
        if (services.GetService<RedisHealthFeed>() is { } health && services.GetRequiredService<IConnectionMultiplexer>().IsConnected)
        {
            health.StartAsync().GetAwaiter().GetResult();
        }
    }

    /// <summary>A configuration string StackExchange.Redis cannot parse, or settings out of range, stop start-up with their path (the string is not echoed: it may hold a password).</summary>
    public static void Validate(SanjiaOptions options, ConfigErrors errors)
    {
        var r = options.Redis;
        if (r.HoldSeconds < 1) errors.Add($"{P}:HoldSeconds", "must be at least 1.");
        if (r.ResponseCacheMaxBytes < 1) errors.Add($"{P}:ResponseCacheMaxBytes", "must be at least 1.");
        if (string.IsNullOrWhiteSpace(r.KeyPrefix) || r.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            errors.Add($"{P}:KeyPrefix", "must not be empty nor contain '{' or '}'.");
        }
        if (string.IsNullOrWhiteSpace(r.Configuration)) return;
        try
        {
            _ = RedisConnection.Options(r.Configuration);
        }
        catch (ArgumentException ex)
        {
            errors.Add($"{P}:Configuration", $"not a StackExchange.Redis configuration string ({ex.Message.Split('\n')[0].TrimEnd('.')}).");
        }
    }
}
