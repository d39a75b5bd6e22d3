using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Sanjia.Abstractions;
using Sanjia.Api;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Metering;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;
using Sanjia.Core.Security;
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
        builder.Configuration.AddJsonFile("sanjia.json", optional: true, reloadOnChange: false);
        if (CommandLine.ConfigFile(args) is { } file)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }
        // Files above must not outrank the environment and the command line.
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddCommandLine(CommandLine.ToConfigArgs(args));
        configure?.Invoke(builder);

        var options = new SanjiaOptions();
        builder.Configuration.GetSection(SanjiaOptions.Section).Bind(options);
        var errors = new ConfigErrors();
        OptionsValidator.Validate(options, errors);
        errors.ThrowIfAny();

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);

        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => MasterKey.Load(options.MasterKey, options.DataDir));
        services.AddSingleton(_ => new SqliteLedgerStore(Path.Combine(options.DataDir, "sanjia.db")));
        services.AddSingleton<ILedgerStore>(sp => sp.GetRequiredService<SqliteLedgerStore>());
        services.AddSingleton<ISpendSource>(sp => sp.GetRequiredService<SqliteLedgerStore>());
        services.AddMetering(options);
        services.AddSanjiaOpenAiProviders();
        services.AddSanjiaLocalModels();
        services.AddSingleton(sp =>
        {
            var errs = new ConfigErrors();
            var providers = sp.GetServices<IProviderSource>().SelectMany(s => s.Create(options, errs)).ToList();
            var registry = new ModelRegistry(providers, options.Models, errs, sp.GetRequiredService<TimeProvider>().GetUtcNow());
            errs.ThrowIfAny();
            return registry;
        });
        services.AddSingleton(sp => new GatewayEngine(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<ILedger>(), sp.GetRequiredService<TimeProvider>(),
            pipeline => pipeline.UseBudgets(sp.GetRequiredService<VirtualKeyCache>(), sp.GetRequiredService<Pricer>(), sp.GetRequiredService<IBudgetTracker>(),
                sp.GetRequiredService<IRateLimiter>(), options, sp.GetRequiredService<TimeProvider>())));

        var app = builder.Build();
        // Resolve now so a bad provider or alias stops start-up with its path, not the first request.
        _ = app.Services.GetRequiredService<GatewayEngine>();
        _ = app.Services.GetRequiredService<MasterKey>();
        MeteringSetup.Start(app.Services);
        app.UseSanjiaApi();
        app.MapSanjiaApi();
        return app;
    }

    /// <summary>The addresses Kestrel actually bound (port 0 becomes a real port).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
