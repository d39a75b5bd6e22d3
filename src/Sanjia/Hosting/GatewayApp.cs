using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Sanjia.Abstractions;
using Sanjia.Api;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Metering;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pipeline.Taps;
using Sanjia.Core.Routing;
using Sanjia.Core.Pricing;
using Sanjia.Core.Security;
using Sanjia.Providers.Anthropic;
using Sanjia.Providers.Gemini;
using Sanjia.Providers.Local;
using Sanjia.Providers.OpenAi;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Hosting;

/// <summary>The composition root: configuration → validated options → providers → engine → HTTP.</summary>
public static class GatewayApp
{
    /// <summary>Builds the gateway. Throws <see cref="ConfigurationException"/> naming every bad setting's path.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = CommandLine.ToConfigArgs(args) });
        var configFiles = ConfigFiles(args, builder.Environment.ContentRootPath);
        AddSources(builder.Configuration, args, configFiles);
        configure?.Invoke(builder);

        var options = new SanjiaOptions();
        builder.Configuration.GetSection(SanjiaOptions.Section).Bind(options);
        var errors = new ConfigErrors();
        OptionsValidator.Validate(options, errors);
        errors.ThrowIfAny();

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Hosting starts an Activity and a logging scope for every request whenever this logger is enabled even for
        // Critical; nothing reads them (the gateway logs its own events), and they allocated ~0.9 KB per request.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);

        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes + RequestBody.DrainAllowance;
            k.AddServerHeader = false;
        });
        // Run request continuations on the socket's I/O thread instead of queueing them to the thread pool: one
        // hand-off less per read, which on a small machine is most of the per-request cost (bench/README.md).
        // Safe because nothing on the request path blocks: local-model work runs on worker threads.
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = options.InlineScheduling);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => MasterKey.Load(options.MasterKey, options.DataDir));
        services.AddSingleton(_ => new SqliteLedgerStore(Path.Combine(options.DataDir, "sanjia.db")));
        services.AddSingleton<ILedgerStore>(sp => sp.GetRequiredService<SqliteLedgerStore>());
        services.AddSingleton<ISpendSource>(sp => sp.GetRequiredService<SqliteLedgerStore>());
        services.AddMetering(options);
        services.AddSanjiaOpenAiProviders();
        services.AddSanjiaAnthropicProviders();
        services.AddSanjiaGeminiProviders();
        services.AddSanjiaLocalModels();
        services.AddSingleton(_ => new AliasOverrides(options.DataDir));
        services.AddSingleton(sp =>
        {
            var errs = new ConfigErrors();
            var providers = sp.GetServices<IProviderSource>().SelectMany(s => s.Create(options, errs)).ToList();
            var models = sp.GetRequiredService<AliasOverrides>().Apply(options.Models);
            var registry = new ModelRegistry(providers, models, errs, sp.GetRequiredService<TimeProvider>().GetUtcNow());
            RoutingValidator.Validate(options, sp.GetRequiredService<RoutingStrategies>().Names, errs);
            errs.ThrowIfAny();
            return registry;
        });
        services.AddSanjiaRouting(options.Routing);
        services.AddSingleton(sp => BudgetPipelineExtensions.CreateBudgetPolicy(sp.GetRequiredService<VirtualKeyCache>(), sp.GetRequiredService<Pricer>(),
            sp.GetRequiredService<IBudgetTracker>(), sp.GetRequiredService<IRateLimiter>(), options, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new GatewayEngine(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<ILedger>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ResilientRouter>(),
            pipeline =>
            {
                // Taps (shadow copies, body log) see what the caller got; budgets refuse before any upstream call.
                pipeline.UseTaps([.. sp.GetServices<IChatTap>()], sp.GetRequiredService<TimeProvider>());
                pipeline.UseBudgets(sp.GetRequiredService<BudgetPolicy>());
            },
            sp.GetRequiredService<Pricer>())
        {
            EmbeddingBudgets = new EmbeddingBudgetGuard(sp.GetRequiredService<BudgetPolicy>()),
        });
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigReloader>(sp,
            (Func<IConfiguration>)(() => AddSources(new ConfigurationBuilder(), args, configFiles).Build()), configFiles));
        services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        services.AddSingleton<IRegistryReloader>(sp => sp.GetRequiredService<ConfigReloader>());
        services.AddSanjiaPromptLibrary(options);

        var app = builder.Build();
        // Resolve now so a bad provider or alias stops start-up with its path, not the first request.
        _ = app.Services.GetRequiredService<GatewayEngine>();
        _ = app.Services.GetRequiredService<MasterKey>();
        MeteringSetup.Start(app.Services);
        app.UseSanjiaApi();
        app.MapSanjiaApi();
        return app;
    }

    /// <summary>The JSON files configuration is read from: <c>sanjia.json</c> (optional) and the <c>--config</c> file.</summary>
    private static List<string> ConfigFiles(string[] args, string contentRoot)
    {
        var files = new List<string> { Path.Combine(contentRoot, "sanjia.json") };
        if (CommandLine.ConfigFile(args) is { } file)
        {
            files.Add(Path.GetFullPath(file));
        }
        return files;
    }

    /// <summary>The configuration sources, lowest precedence first; also used to re-read them on a reload.</summary>
    private static T AddSources<T>(T configuration, string[] args, List<string> files) where T : IConfigurationBuilder
    {
        for (var i = 0; i < files.Count; i++)
        {
            configuration.AddJsonFile(files[i], optional: i == 0, reloadOnChange: false);
        }
        // Files above must not outrank the environment and the command line.
        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(CommandLine.ToConfigArgs(args));
        return configuration;
    }

    /// <summary>The addresses Kestrel actually bound (port 0 becomes a real port).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
