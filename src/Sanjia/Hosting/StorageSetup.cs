using Npgsql;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Prompts;
using Sanjia.Core.Shadow;
using Sanjia.Core.Traffic;
using Sanjia.Evaluation.Storage;
using Sanjia.Storage.Postgres;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Hosting;

/// <summary>
/// The durable stores, chosen once by <c>Sanjia:Storage:Postgres</c>: SQLite files in the data folder (the default),
/// or one PostgreSQL database shared by every instance, its schema migrated when the first store is resolved
/// (before serving: <see cref="MeteringSetup.Start"/> replays the journal into the ledger store).
/// </summary>
internal static class StorageSetup
{
    public const string LedgerDatabase = "sanjia.db";

    public static IServiceCollection AddSanjiaStorage(this IServiceCollection services, SanjiaOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Storage.Postgres))
        {
            services.AddSingleton(_ => new SqliteLedgerStore(Path.Combine(options.DataDir, LedgerDatabase)));
            services.AddSingleton<ILedgerStore>(sp => sp.GetRequiredService<SqliteLedgerStore>());
            services.AddSingleton<ISpendSource>(sp => sp.GetRequiredService<SqliteLedgerStore>());
            services.AddSingleton<IKeyStore>(_ => new SqliteKeyStore(Path.Combine(options.DataDir, LedgerDatabase)));
            services.AddSingleton<IAuditStore>(_ => new SqliteAuditStore(Path.Combine(options.DataDir, LedgerDatabase)));
            services.AddSingleton<IAlertStore>(_ => new SqliteAlertStore(Path.Combine(options.DataDir, LedgerDatabase)));
            services.AddSingleton<IPromptStore>(_ => new SqlitePromptStore(Path.Combine(options.DataDir, CompareServices.PromptsDatabase)));
            services.AddSingleton<IShadowStore>(_ => new SqliteShadowStore(Path.Combine(options.DataDir, CompareServices.TrafficDatabase)));
            services.AddSingleton<IBodyLogStore>(_ => new SqliteBodyLogStore(Path.Combine(options.DataDir, CompareServices.TrafficDatabase)));
            services.AddSingleton<IEvaluationStore>(_ => new SqliteEvaluationStore(Path.Combine(options.DataDir, SqliteEvaluationStore.DefaultFileName)));
            services.AddSingleton<IDeletableTraffic>(sp => sp.GetRequiredService<SqliteLedgerStore>());
            services.AddSingleton<IDeletableTraffic>(sp => (IDeletableTraffic)sp.GetRequiredService<IBodyLogStore>());
            return services.AddRetention(options);
        }
        services.AddSingleton(_ => OpenPostgres(options.Storage.Postgres));
        services.AddSingleton(sp => new PostgresLedgerStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<ILedgerStore>(sp => sp.GetRequiredService<PostgresLedgerStore>());
        services.AddSingleton<ISpendSource>(sp => sp.GetRequiredService<PostgresLedgerStore>());
        services.AddSingleton<IKeyStore>(sp => new PostgresKeyStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IAuditStore>(sp => new PostgresAuditStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IAlertStore>(sp => new PostgresAlertStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IPromptStore>(sp => new PostgresPromptStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IShadowStore>(sp => new PostgresShadowStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IBodyLogStore>(sp => new PostgresBodyLogStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IEvaluationStore>(sp => new PostgresEvaluationStore(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<IDeletableTraffic>(sp => sp.GetRequiredService<PostgresLedgerStore>());
        services.AddSingleton<IDeletableTraffic>(sp => (IDeletableTraffic)sp.GetRequiredService<IBodyLogStore>());
        return services.AddRetention(options);
    }

    /// <summary>The retention sweep, only when a retention is set: the default gateway runs no timer for it.</summary>
    private static IServiceCollection AddRetention(this IServiceCollection services, SanjiaOptions options)
    {
        var retention = options.Storage.Retention;
        if (!retention.Enabled) return services;
        services.AddSingleton(sp =>
        {
            var stores = sp.GetServices<IDeletableTraffic>().ToDictionary(s => s.DataName, StringComparer.Ordinal);
            var retained = new List<(IDeletableTraffic, int)>();
            if (retention.LedgerDays > 0) retained.Add((stores["ledger"], retention.LedgerDays));
            if (retention.BodyLogDays > 0) retained.Add((stores["body_log"], retention.BodyLogDays));
            return new RetentionSweep(retained, TimeSpan.FromMinutes(retention.SweepMinutes), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RetentionSweep>>());
        });
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweep>());
        return services;
    }

    /// <summary>
    /// Opens and migrates the database. Unreachable or refusing, start-up stops with one line naming the setting and
    /// the server's reason (as an <see cref="InvalidOperationException"/>, which <c>GatewayRun</c> prints without a stack
    /// trace); the connection string itself is not echoed: it may hold a password.
    /// </summary>
    private static PostgresDatabase OpenPostgres(string connectionString)
    {
        try
        {
            return PostgresDatabase.OpenAsync(connectionString, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException(
                $"the PostgreSQL database of {SanjiaOptions.Section}:Storage:Postgres cannot be used: {ex.Message.TrimEnd('.')}{(ex.InnerException is { } inner ? $" ({inner.Message.TrimEnd('.')})" : "")}.", ex);
        }
    }

    /// <summary>A connection string Npgsql cannot parse stops start-up with its path (the value is not echoed: it may hold a password).</summary>
    public static void Validate(SanjiaOptions options, ConfigErrors errors)
    {
        var retention = options.Storage.Retention;
        const string R = $"{SanjiaOptions.Section}:Storage:Retention";
        if (retention.LedgerDays != 0 && retention.LedgerDays < RetentionOptions.MinLedgerDays)
        {
            errors.Add($"{R}:LedgerDays", $"must be 0 (keep every row) or at least {RetentionOptions.MinLedgerDays}: monthly budgets and this month's spend report read the ledger back.");
        }
        if (retention.BodyLogDays < 0) errors.Add($"{R}:BodyLogDays", "must be 0 (keep every body) or a number of days.");
        if (!(retention.SweepMinutes >= 1)) errors.Add($"{R}:SweepMinutes", "must be at least 1.");
        if (string.IsNullOrWhiteSpace(options.Storage.Postgres)) return;
        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.Storage.Postgres);
        }
        catch (ArgumentException ex)
        {
            errors.Add($"{SanjiaOptions.Section}:Storage:Postgres", $"not a PostgreSQL connection string ({ex.Message.TrimEnd('.')}).");
        }
    }
}
