using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Sanjia.Abstractions;
using Sanjia.Api;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Budgets;
using Sanjia.Core.Caching;
using Sanjia.Core.Caching.Semantic;
using Sanjia.Core.Configuration;
using Sanjia.Core.Guardrails;
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
using Sanjia.Providers.StableDiffusion;
using Sanjia.Providers.Local;
using Sanjia.Providers.OpenAi;

namespace Sanjia.Hosting;

/// <summary>The composition root: configuration → validated options → providers → engine → HTTP.</summary>
public static class GatewayApp
{
    /// <summary>
    /// Builds the gateway. Throws <see cref="ConfigurationException"/> naming every bad setting's path (and the fix),
    /// or <see cref="UsageException"/> for a command line that cannot be run: start-up problems are values for the
    /// caller to print in a line or two, never stack traces.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var configArgs = CommandLine.ToConfigArgs(args);
        var configFiles = ConfigFiles(args);
        var builder = ReadingJson(null, () => WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = configArgs }));
        ReadingJson(configFiles, () => AddSources(builder.Configuration, args, configFiles));
        configure?.Invoke(builder);

        var errors = new ConfigErrors();
        var options = ConfigShape.Bind(builder.Configuration, errors);
        errors.ThrowIfAny();
        var urls = EffectiveUrls(builder.Configuration, options!);
        options!.Urls = urls;
        OptionsValidator.Validate(options, errors);
        StartupChecks.Validate(options, builder.Configuration, errors);
        StorageSetup.Validate(options, errors);
        RedisSetup.Validate(options, errors);
        TelemetrySetup.Validate(options, errors);
        Core.Alerts.AlertOptions.Validate(options.Alerts, errors);
        errors.ThrowIfAny();

        // Simple one-line console logs by default, JSON with Logging:Console:FormatterName=json; dates with their zone.
        TelemetrySetup.AddLogging(builder);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Hosting starts an Activity and a logging scope for every request whenever this logger is enabled even for
        // Critical; nothing reads them (the gateway logs its own events), and they allocated ~0.9 KB per request.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        // A failed start (a port in use) is printed by GatewayRun in two lines; the host would log it again with its
        // stack trace. Only until the host has started: later host errors (a faulted background service) are logged.
        var started = false;
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => started && level >= LogLevel.Warning);

        builder.WebHost.UseUrls(options.Urls);
        if (ListenAddresses.Split(options.Urls).Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase)))
        {
            // The slim builder leaves HTTPS out; this reads Kestrel:Certificates:Default (docs/deployment.md).
            builder.WebHost.UseKestrelHttpsConfiguration();
        }
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = ShutdownDrain.ShutdownTimeout(options));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes + RequestBody.DrainAllowance;
            // Above the gateway's own header limits, so that it answers 431 with a JSON body (Kestrel's has none).
            k.Limits.MaxRequestHeadersTotalSize = GatewayErrorHandling.KestrelHeaderBytes;
            k.Limits.MaxRequestHeaderCount = GatewayErrorHandling.KestrelHeaderCount;
            // Likewise above the gateway's own URL limit, so that a long URL gets a 414 with a JSON body.
            k.Limits.MaxRequestLineSize = GatewayErrorHandling.KestrelRequestLineBytes;
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
        services.AddSanjiaStorage(options);
        services.AddMetering(options);
        services.AddSanjiaRedis(options);
        services.AddDependencyProbes(options);
        TelemetrySetup.AddTelemetry(builder, options);
        services.AddSanjiaOpenAiProviders();
        services.AddSanjiaAnthropicProviders();
        services.AddSanjiaGeminiProviders();
        services.AddSanjiaStableDiffusionProviders();
        services.AddSanjiaLocalModels();
        services.AddSingleton(_ => new AliasOverrides(options.DataDir));
        services.AddSingleton(_ => new AliasRollouts(options.DataDir));
        // One builder for the configuration in force, at start-up and on every reload (ConfigReloader); disposed at
        // shutdown with every provider it made.
        services.AddSingleton(sp => new GatewaySnapshotBuilder(sp.GetServices<IProviderSource>(), sp.GetRequiredService<RoutingStrategies>().Names,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<AliasOverrides>(), sp.GetRequiredService<AliasRollouts>()));
        // Gradual rollouts: judged against the ledger (the shared store when there is one) every RolloutIntervalSeconds.
        services.AddSingleton(sp => new Core.Rollouts.RolloutController(sp.GetRequiredService<AliasRollouts>(), sp.GetRequiredService<AliasOverrides>(),
            sp.GetRequiredService<IRegistryReloader>(), sp.GetService<ILedgerStore>() as ILedgerQuery, sp.GetRequiredService<TimeProvider>(),
            TimeSpan.FromSeconds(options.Routing.RolloutIntervalSeconds), sp.GetRequiredService<ILogger<Core.Rollouts.RolloutController>>())
        {
            Flush = sp.GetService<JournaledLedger>() is { } journal ? journal.FlushAsync : null,
            Audit = sp.GetService<IAuditStore>(),
            Registry = () => sp.GetRequiredService<GatewayEngine>().Registry,
        });
        services.AddHostedService(sp => sp.GetRequiredService<Core.Rollouts.RolloutController>());
        services.AddSingleton(sp =>
        {
            var errs = new ConfigErrors();
            var snapshot = sp.GetRequiredService<GatewaySnapshotBuilder>().Build(options, errs);
            errs.ThrowIfAny();
            return snapshot!;
        });
        services.AddSanjiaRouting(options.Routing);
        // One cache per process, sized at start-up; whether it applies is per model, read from each snapshot.
        services.AddSingleton(sp => new ResponseCache(options.Cache.MaxBytes, sp.GetRequiredService<TimeProvider>()));
        // The semantic cache's index beside it (empty until an alias turns it on); it embeds through the engine's own
        // embeddings pipeline, hence the deferred engine.
        // An entry is live while its answer is in this instance's memory, or, for another instance's question (with
        // Redis), while its answer is in the shared tier.
        services.AddSingleton(sp =>
        {
            var cache = sp.GetRequiredService<ResponseCache>();
            var peers = new SemanticPeers(sp.GetRequiredService<TimeProvider>());
            return new SemanticCache(new SemanticIndex(options.Cache.Semantic.MaxEntries, key => cache.Contains(key) || peers.Knows(key)),
                new EngineEmbedder(sp.GetRequiredService<GatewayEngine>, sp.GetRequiredService<TimeProvider>()), peers);
        });
        services.AddSingleton(sp =>
        {
            var policy = BudgetPipelineExtensions.CreateBudgetPolicy(sp.GetRequiredService<VirtualKeyCache>(), sp.GetRequiredService<Pricer>(),
                sp.GetRequiredService<IBudgetTracker>(), sp.GetRequiredService<IRateLimiter>(), options, sp.GetRequiredService<TimeProvider>(),
                sp.GetService<IAdmissionStore>());
            // Budget alerts hear of a refusal for a budget at once (called on that refusal only, never on an admitted request).
            policy.OnRefused = sp.GetService<Core.Alerts.BudgetAlerts>() is { } alerts ? alerts.Refused : null;
            return policy;
        });
        services.AddBudgetAlerts(options);
        services.AddSingleton(sp => new GatewayEngine(sp.GetRequiredService<GatewaySnapshot>().Registry, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ResilientRouter>(),
            // One pipeline for every kind of call. Metering is outermost (the builder keeps it there); taps (shadow
            // copies, body log) see what the caller got; budgets refuse before any upstream call; the response cache
            // answers inside budgets (a hit has passed the key's checks and is not charged) and before the router.
            new PipelineBuilder()
                .UseMetering(sp.GetRequiredService<ILedger>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Pricer>(),
                    sp.GetRequiredService<Core.Telemetry.AccessLog>(), sp.GetRequiredService<Core.Telemetry.TelemetrySettings>())
                // Guardrails before the taps: shadow copies and the body log see only redacted text.
                .UseGuardrails(GuardrailPolicies.Build(options.Guardrails, new ConfigErrors()) ?? GuardrailPolicies.None,
                    sp.GetRequiredService<VirtualKeyCache>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Sanjia.Guardrails"),
                    // Guard models and topic lists call models through the engine itself (resolved at their first call).
                    sp.GetRequiredService<GatewayEngine>, sp.GetRequiredService<TimeProvider>())
                .UseTaps([.. sp.GetServices<IChatTap>()], sp.GetRequiredService<TimeProvider>())
                .UseBudgets(sp.GetRequiredService<BudgetPolicy>())
                .UseResponseCache(sp.GetRequiredService<ResponseCache>(), sp.GetRequiredService<Pricer>(), sp.GetRequiredService<SemanticCache>(),
                    sp.GetRequiredService<IRandomSource>()))
        {
            Snapshot = sp.GetRequiredService<GatewaySnapshot>(),
        });
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigReloader>(sp,
            (Func<IConfiguration>)(() => AddSources(new ConfigurationBuilder(), args, configFiles).Build()), configFiles));
        services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        services.AddSingleton<IRegistryReloader>(sp => sp.GetRequiredService<ConfigReloader>());
        services.AddSanjiaPromptLibrary(options);
        services.AddSingleton<ShutdownDrain>();
        services.AddSingleton(new Api.Health.GatewayInfo(Cli.SanjiaCli.Version));
        // The web console at /ui (docs/console.md): its sessions, and its files and sign-in routes.
        services.AddSingleton<Api.Console.ConsoleSessions>();
        services.AddSingleton<Api.Console.ConsoleEndpoints>();

        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => started = true);
        StartupChecks.LogWarnings(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sanjia.Configuration"), errors);
        // Resolve now so a bad provider or alias stops start-up with its path, not the first request.
        _ = app.Services.GetRequiredService<GatewayEngine>();
        _ = app.Services.GetRequiredService<MasterKey>();
        RedisSetup.Start(app.Services); // subscribed before the key cache loads: no change falls between the two
        MeteringSetup.Start(app.Services);
        TelemetrySetup.Observe(app);
        TelemetrySetup.UseServerSpans(app);
        _ = app.Services.GetRequiredService<ShutdownDrain>();
        if (options.ForwardedHeaders.Enabled)
        {
            app.UseForwardedHeaders(ProxySettings.For(options.ForwardedHeaders));
        }
        app.UseSanjiaApi();
        app.MapSanjiaApi();
        return app;
    }

    /// <summary>The JSON files configuration is read from: <c>sanjia.json</c> (optional) and the <c>--config</c> file.</summary>
    private static List<string> ConfigFiles(string[] args)
    {
        // The working directory, as the README says (the slim builder's content root is the same by default).
        var files = new List<string> { Path.GetFullPath("sanjia.json") };
        if (CommandLine.ConfigFile(args) is { } file)
        {
            if (!File.Exists(file))
            {
                throw new ConfigurationException([$"--config: the file '{file}' does not exist (working directory: {Environment.CurrentDirectory})."]);
            }
            files.Add(Path.GetFullPath(file));
        }
        return files;
    }

    /// <summary>A JSON file that does not parse: its name, line and position, without the parser's stack.</summary>
    private static T ReadingJson<T>(List<string>? files, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException ex) when (JsonError(ex) is { } json)
        {
            var file = files?.FirstOrDefault(f => ex.Message.Contains(f, StringComparison.Ordinal))
                ?? System.Text.RegularExpressions.Regex.Match(ex.Message, "'([^']+)'").Groups[1].Value;
            throw new ConfigurationException([$"{file}: not valid JSON ({Where(json)}). Fix the file; a trailing comma or a missing quote is the usual cause."]);
        }

        static System.Text.Json.JsonException? JsonError(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
            {
                if (e is System.Text.Json.JsonException json) return json;
            }
            return null;
        }

        static string Where(System.Text.Json.JsonException json) => json.LineNumber is { } line
            ? $"line {line + 1}, position {json.BytePositionInLine + 1}"
            : json.Message;
    }

    private static void ReadingJson(List<string> files, Action read) => ReadingJson(files, () => { read(); return 0; });

    /// <summary>
    /// <c>Sanjia:Urls</c> when set; otherwise ASP.NET Core's own <c>ASPNETCORE_URLS</c> or <c>ASPNETCORE_HTTP_PORTS</c>
    /// (every interface, as the official container images mean it: they set <c>ASPNETCORE_HTTP_PORTS=8080</c>);
    /// otherwise the loopback default.
    /// </summary>
    private static string EffectiveUrls(IConfiguration configuration, SanjiaOptions options)
    {
        if (configuration[$"{SanjiaOptions.Section}:Urls"] is { Length: > 0 })
        {
            return options.Urls;
        }
        if (configuration["urls"] is { Length: > 0 } urls)
        {
            return urls;
        }
        if (configuration["http_ports"] is { Length: > 0 } ports)
        {
            return string.Join(';', ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://*:{p}"));
        }
        return options.Urls;
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
