using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Gemini;

/// <summary>Builds Gemini providers from <c>Sanjia:Providers:&lt;name&gt;</c> entries with <c>Type: gemini</c>.</summary>
public sealed class GeminiProviderSource(TimeProvider time, Func<string, string?>? environment = null) : IProviderSource
{
    public const string DefaultBaseUrl = "https://generativelanguage.googleapis.com";
    private readonly Func<string, string?> _env = environment ?? Environment.GetEnvironmentVariable;

    public IEnumerable<IProvider> Create(SanjiaOptions options, ConfigErrors errors)
    {
        foreach (var (name, p) in options.Providers)
        {
            if (!string.Equals(p.Type, "gemini", StringComparison.OrdinalIgnoreCase)) continue;
            var path = $"{SanjiaOptions.Section}:Providers:{name}";
            if (!Uri.TryCreate(p.BaseUrl ?? DefaultBaseUrl, UriKind.Absolute, out var uri)) continue; // reported by OptionsValidator
            if (ProviderKeys.Resolve(p, path, p.BaseUrl is null ? "GEMINI_API_KEY" : null, required: true, _env, errors) is not { } credentials)
            {
                continue;
            }
            var (key, source) = credentials;
            yield return new GeminiProvider(new TranslatingProviderSettings(
                name, uri, key, source, new Dictionary<string, string>(p.Headers, StringComparer.OrdinalIgnoreCase),
                p.Models ?? [], p.DropUnsupportedParams, p.Timeouts ?? options.Timeouts), time);
        }
    }
}

public static class GeminiServiceCollectionExtensions
{
    /// <summary>Registers Gemini providers (<c>Type: gemini</c>) as a provider source.</summary>
    public static IServiceCollection AddSanjiaGeminiProviders(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IProviderSource>(sp => new GeminiProviderSource(sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
