using Sanjia.Abstractions;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Metering;
using Sanjia.Core.Pricing;

namespace Sanjia.Hosting;

/// <summary>Composition of keys, prices, the journaled ledger, budgets and rate limits.</summary>
internal static class MeteringSetup
{
    /// <summary>How long ledger rows gather before a batch goes to PostgreSQL (see <see cref="JournaledLedger"/>).</summary>
    internal static readonly TimeSpan PostgresBatchWindow = TimeSpan.FromMilliseconds(5);

    public const string JournalFile = "ledger.journal";
    public const string ImportedPricesFile = "prices.json";

    public static IServiceCollection AddMetering(this IServiceCollection services, SanjiaOptions options)
    {
        services.AddSingleton(_ => LoadCatalogue(options));
        services.AddSingleton(sp => new Pricer(sp.GetRequiredService<PriceCatalogue>(), options, sp.GetService<TimeProvider>()));
        services.AddSingleton<VirtualKeyCache>();
        services.AddSingleton(sp => new JournaledLedger(sp.GetRequiredService<ILedgerStore>(), sp.GetRequiredService<Pricer>(),
            Path.Combine(options.DataDir, JournalFile), options.Metering.JournalFsync, sp.GetRequiredService<ILogger<JournaledLedger>>(),
            // PostgreSQL pays per statement: rows gather for a few milliseconds into one insert (bench/README.md, "night").
            batchWindow: string.IsNullOrWhiteSpace(options.Storage.Postgres) ? TimeSpan.Zero : PostgresBatchWindow));
        services.AddSingleton<ILedger>(sp => sp.GetRequiredService<JournaledLedger>());
        services.AddHostedService(sp => sp.GetRequiredService<JournaledLedger>());
        services.AddSingleton<IRateLimiter>(sp => new InMemoryRateLimiter(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new LedgerSpend(sp.GetRequiredService<JournaledLedger>(), sp.GetRequiredService<ISpendSource>()));
        services.AddSingleton<IBudgetTracker>(sp =>
        {
            var spend = sp.GetRequiredService<LedgerSpend>();
            return new InMemoryBudgetTracker((scope, since, ct) => spend.SpentSinceAsync(scope.Kind, scope.Id, scope.Budget.Currency, since, ct),
                sp.GetRequiredService<TimeProvider>());
        });
        return services;
    }

    /// <summary>Before serving: replay what a killed process left in the journal, then load the key cache.</summary>
    public static void Start(IServiceProvider services)
    {
        services.GetRequiredService<JournaledLedger>().ReplayAsync(CancellationToken.None).GetAwaiter().GetResult();
        services.GetRequiredService<VirtualKeyCache>().LoadAsync(services.GetRequiredService<IKeyStore>(), CancellationToken.None).GetAwaiter().GetResult();
    }

    private static PriceCatalogue LoadCatalogue(SanjiaOptions options)
    {
        var catalogue = PriceCatalogue.LoadBuiltIn();
        var file = options.Metering.PricesFile ?? Path.Combine(options.DataDir, ImportedPricesFile);
        if (File.Exists(file))
        {
            catalogue.AddAll(PriceCatalogue.ReadFile(file), "imported");
        }
        return catalogue;
    }
}
