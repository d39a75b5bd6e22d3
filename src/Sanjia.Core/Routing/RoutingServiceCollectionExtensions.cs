using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Routing;

public static class RoutingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the router, its built-in strategies, deployment health and the price seam. Add a strategy with
    /// <c>services.AddSingleton&lt;IRoutingStrategy, MyStrategy&gt;()</c>; replace prices by registering an <see cref="IPriceLookup"/> first.
    /// </summary>
    public static IServiceCollection AddSanjiaRouting(this IServiceCollection services, RoutingOptions options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRandomSource>(SystemRandomSource.Instance);
        services.TryAddSingleton<IPriceLookup, ConfiguredPriceLookup>();
        services.AddSingleton<IRoutingStrategy, PriorityStrategy>();
        services.AddSingleton<IRoutingStrategy, WeightedStrategy>();
        services.AddSingleton<IRoutingStrategy, LeastBusyStrategy>();
        services.AddSingleton<IRoutingStrategy, LowestLatencyStrategy>();
        services.AddSingleton<IRoutingStrategy, LowestCostStrategy>();
        services.AddSingleton<IRoutingStrategy, PowerOfTwoStrategy>();
        services.AddSingleton<RoutingStrategies>();
        services.AddSingleton<DeploymentStateStore>();
        services.AddSingleton(new RoutingSettings(options));
        services.AddSingleton<ResilientRouter>();
        services.AddHostedService<ActiveHealthChecks>();
        return services;
    }

    /// <summary>A router outside a host (tools, tests, benchmarks): the built-in strategies, fresh deployment state.</summary>
    public static ResilientRouter CreateRouter(RoutingOptions options, TimeProvider time, IRandomSource? random = null)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(time);
        if (random is not null)
        {
            services.AddSingleton(random);
        }
        return services.AddSanjiaRouting(options).BuildServiceProvider().GetRequiredService<ResilientRouter>();
    }
}
