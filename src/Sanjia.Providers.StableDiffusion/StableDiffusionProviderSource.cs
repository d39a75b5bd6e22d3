using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Providers.StableDiffusion;

/// <summary>Builds Stable Diffusion providers from <c>Sanjia:Providers:&lt;name&gt;</c> entries with <c>Type: sdapi</c>.</summary>
public sealed class StableDiffusionProviderSource(TimeProvider time, Func<string, string?>? environment = null) : IProviderSource
{
    public const string Type = "sdapi";
    private readonly Func<string, string?> _env = environment ?? Environment.GetEnvironmentVariable;

    public IEnumerable<IProvider> Create(SanjiaOptions options, ConfigErrors errors)
    {
        foreach (var (name, p) in options.Providers)
        {
            if (!string.Equals(p.Type, Type, StringComparison.OrdinalIgnoreCase)) continue;
            var path = $"{SanjiaOptions.Section}:Providers:{name}";
            if (p.BaseUrl is null)
            {
                errors.Add($"{path}:BaseUrl", "is required for a Stable Diffusion server (e.g. http://127.0.0.1:7860).");
                continue;
            }
            if (!Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out var uri)) continue; // reported by OptionsValidator
            // Local servers run without a key; AUTOMATIC1111's --api-auth takes user:password.
            if (ProviderKeys.Resolve(p, path, null, required: false, _env, errors) is not { } credentials) continue;
            var (key, source) = credentials;
            yield return new StableDiffusionProvider(new StableDiffusionSettings(
                name, uri, key, source, new Dictionary<string, string>(p.Headers, StringComparer.OrdinalIgnoreCase),
                p.Models ?? [StableDiffusionProvider.DefaultModel], p.Steps, p.Timeouts ?? options.Timeouts), time);
        }
    }
}

public static class StableDiffusionServiceCollectionExtensions
{
    /// <summary>Registers Stable Diffusion servers (<c>Type: sdapi</c>) as a provider source.</summary>
    public static IServiceCollection AddSanjiaStableDiffusionProviders(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IProviderSource>(sp => new StableDiffusionProviderSource(sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
