using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Upstream;

namespace Sanjia.Providers.Anthropic;

/// <summary>Builds Anthropic providers from <c>Sanjia:Providers:&lt;name&gt;</c> entries with <c>Type: anthropic</c>.</summary>
public sealed class AnthropicProviderSource(TimeProvider time, Func<string, string?>? environment = null) : IProviderSource
{
    public const string DefaultBaseUrl = "https://api.anthropic.com";
    public const string DefaultVersion = "2023-06-01";
    private readonly Func<string, string?> _env = environment ?? Environment.GetEnvironmentVariable;

    public IEnumerable<IProvider> Create(SanjiaOptions options, ConfigErrors errors)
    {
        foreach (var (name, p) in options.Providers)
        {
            if (!string.Equals(p.Type, "anthropic", StringComparison.OrdinalIgnoreCase)) continue;
            var path = $"{SanjiaOptions.Section}:Providers:{name}";
            if (!Uri.TryCreate(p.BaseUrl ?? DefaultBaseUrl, UriKind.Absolute, out var uri)) continue; // reported by OptionsValidator
            if (ProviderKeys.Resolve(p, path, p.BaseUrl is null ? "ANTHROPIC_API_KEY" : null, required: true, _env, errors) is not { } credentials)
            {
                continue;
            }
            var (key, source) = credentials;
            var headers = new Dictionary<string, string>(p.Headers, StringComparer.OrdinalIgnoreCase);
            var version = headers.Remove("anthropic-version", out var v) ? v : DefaultVersion;
            yield return new AnthropicProvider(new TranslatingProviderSettings(
                name, uri, key, source, headers, p.Models ?? [], p.DropUnsupportedParams, p.Timeouts ?? options.Timeouts), version, time);
        }
    }
}

public static class AnthropicServiceCollectionExtensions
{
    /// <summary>Registers Anthropic providers (<c>Type: anthropic</c>) as a provider source.</summary>
    public static IServiceCollection AddSanjiaAnthropicProviders(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IProviderSource>(sp => new AnthropicProviderSource(sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
