using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Models;
using Sanjia.Providers.Local;

namespace Microsoft.Extensions.DependencyInjection;

public static class LocalServiceCollectionExtensions
{
    /// <summary>
    /// Serves GGUF files and the built-in MiniLM embedding model as the <c>local</c> provider, and watches the models
    /// folder so files added or removed while the gateway runs are served or dropped without a restart.
    /// </summary>
    public static IServiceCollection AddSanjiaLocalModels(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProviderSource, LocalProviderSource>());
        services.AddHostedService<LocalModelsWatcher>();
        return services;
    }
}
