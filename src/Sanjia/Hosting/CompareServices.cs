using Sanjia.Api.Compare;
using Sanjia.Core.Configuration;
using Sanjia.Core.Prompts;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Hosting;

/// <summary>Composition of the compare-and-migrate features: the prompt library (and, below, comparisons, shadowing, body logs).</summary>
internal static class CompareServices
{
    public const string PromptsDatabase = "prompts.db";

    public static IServiceCollection AddSanjiaPromptLibrary(this IServiceCollection services, SanjiaOptions options)
    {
        services.AddSingleton<IPromptStore>(_ => new SqlitePromptStore(Path.Combine(options.DataDir, PromptsDatabase)));
        services.AddSingleton(sp => new CompareJobs(options.DataDir, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CompareJobs>>()));
        return services;
    }
}
