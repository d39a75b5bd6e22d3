using Sanjia.Api.Compare;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pipeline.Taps;
using Sanjia.Core.Pricing;
using Sanjia.Core.Prompts;
using Sanjia.Core.Routing;
using Sanjia.Core.Shadow;
using Sanjia.Core.Traffic;
using Sanjia.Evaluation.Storage;

namespace Sanjia.Hosting;

/// <summary>Composition of the compare-and-migrate features: prompt library, admin comparisons, shadow testing, body log.</summary>
internal static class CompareServices
{
    public const string PromptsDatabase = "prompts.db";

    /// <summary>Shadow pairs and logged bodies (own tables, apart from the ledger).</summary>
    public const string TrafficDatabase = "traffic.db";

    public static IServiceCollection AddSanjiaPromptLibrary(this IServiceCollection services, SanjiaOptions options)
    {
        var errors = new ConfigErrors();
        ShadowOptions.Validate(options.Shadow, errors);
        if (options.Logging.BodyQueueSize < 1) errors.Add($"{SanjiaOptions.Section}:Logging:BodyQueueSize", "must be at least 1.");
        errors.ThrowIfAny();

        services.AddSingleton<EvaluationCallers>();
        services.AddSingleton(sp =>
        {
            var jobs = new CompareJobs(options.DataDir, sp.GetRequiredService<IEvaluationStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CompareJobs>>(), sp.GetRequiredService<EvaluationCallers>());
            sp.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(jobs.Cancel);
            return jobs;
        });
        services.AddSingleton(sp => new ShadowTap(options.Shadow, () => sp.GetRequiredService<GatewayEngine>(), sp.GetRequiredService<IShadowStore>(),
            sp.GetRequiredService<IRandomSource>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ShadowTap>>(),
            sp.GetRequiredService<Pricer>(), options.Metering,
            (keyId, currency, since, ct) => sp.GetRequiredService<LedgerSpend>().SpentSinceAsync("key", keyId, currency, since, ct),
            sp.GetService<Sanjia.Core.Budgets.ISharedBudgets>()));
        services.AddSingleton<ISuiteSource>(sp => new ReplaySuiteSource(sp.GetRequiredService<IBodyLogStore>()));
        if (options.Logging.Bodies)
        {
            services.AddSingleton(sp => new BodyLogTap(sp.GetRequiredService<IBodyLogStore>(), options.Logging.BodyQueueSize, sp.GetRequiredService<ILogger<BodyLogTap>>(), sp.GetRequiredService<Pricer>()));
            services.AddSingleton<IChatTap>(sp => sp.GetRequiredService<BodyLogTap>());
            services.AddHostedService(sp => sp.GetRequiredService<BodyLogTap>());
        }
        if (options.Shadow.Count > 0)
        {
            services.AddSingleton<IChatTap>(sp => sp.GetRequiredService<ShadowTap>());
            services.AddHostedService(sp => sp.GetRequiredService<ShadowTap>());
        }
        return services;
    }
}
