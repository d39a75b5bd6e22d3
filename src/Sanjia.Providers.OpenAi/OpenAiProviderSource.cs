using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Providers.OpenAi.Presets;

namespace Sanjia.Providers.OpenAi;

/// <summary>
/// Builds OpenAI-compatible providers from <c>Sanjia:Providers</c> entries (a preset, a base URL, or both) and,
/// unless disabled, from every preset whose API-key environment variable is set.
/// </summary>
public sealed class OpenAiProviderSource(TimeProvider time, Func<string, string?>? environment = null) : IProviderSource
{
    private readonly Func<string, string?> _env = environment ?? Environment.GetEnvironmentVariable;

    public IEnumerable<IProvider> Create(SanjiaOptions options, ConfigErrors errors)
    {
        var providers = new List<IProvider>();
        foreach (var (name, p) in options.Providers)
        {
            if (name.Equals("local", StringComparison.OrdinalIgnoreCase))
            {
                continue; // the in-process provider's name
            }
            if (string.Equals(p.Type, "azure", StringComparison.OrdinalIgnoreCase))
            {
                if (ResolveAzure(name, p, options.Timeouts, errors) is { } azure)
                {
                    providers.Add(new OpenAiCompatibleProvider(azure, time));
                }
                continue;
            }
            if (p.Type is { } type && !type.Equals("openai", StringComparison.OrdinalIgnoreCase))
            {
                continue; // another protocol's provider source builds it
            }
            if (Resolve(name, p, options.Timeouts, errors) is { } settings)
            {
                providers.Add(new OpenAiCompatibleProvider(settings, time));
            }
        }
        if (options.PresetsFromEnvironment)
        {
            foreach (var preset in ProviderPresets.All)
            {
                if (preset.ApiKeyEnv is null || options.Providers.ContainsKey(preset.Name) || string.IsNullOrEmpty(_env(preset.ApiKeyEnv)))
                {
                    continue;
                }
                if (Resolve(preset.Name, new ProviderOptions { Preset = preset.Name }, options.Timeouts, errors) is { } settings)
                {
                    providers.Add(new OpenAiCompatibleProvider(settings, time));
                }
            }
        }
        return providers;
    }

    /// <summary>Azure OpenAI: the OpenAI-compatible provider with Azure's URLs and its <c>api-key</c> header.</summary>
    private OpenAiProviderSettings? ResolveAzure(string name, ProviderOptions p, TimeoutOptions defaultTimeouts, ConfigErrors errors)
    {
        var path = $"{SanjiaOptions.Section}:Providers:{name}";
        if (AzureOpenAiSettings.From(p, path, errors) is not { } azure) return null;
        if (ProviderKeys.Resolve(p, path, "AZURE_OPENAI_API_KEY", required: true, _env, errors) is not { } credentials)
        {
            return null;
        }
        var (key, keySource) = credentials;
        var quirks = PresetQuirks.None with { AuthHeader = "api-key" };
        return new OpenAiProviderSettings(name, azure.Endpoint, key, keySource,
            new Dictionary<string, string>(p.Headers, StringComparer.OrdinalIgnoreCase),
            p.Models ?? [.. azure.Deployments.Keys], p.EmbeddingModels ?? [], p.StreamUsage ?? true, quirks, p.Timeouts ?? defaultTimeouts)
        {
            Azure = azure,
            ImageModels = p.ImageModels ?? [],
        };
    }

    private OpenAiProviderSettings? Resolve(string name, ProviderOptions p, TimeoutOptions defaultTimeouts, ConfigErrors errors)
    {
        var path = $"{SanjiaOptions.Section}:Providers:{name}";
        ProviderPreset? preset = null;
        if (p.Preset is { } presetName)
        {
            preset = ProviderPresets.Find(presetName);
            if (preset is null)
            {
                errors.Add($"{path}:Preset", $"unknown preset '{presetName}' (known: {string.Join(", ", ProviderPresets.All.Select(x => x.Name))}).");
                return null;
            }
        }
        else
        {
            // A provider named like a preset takes that preset's defaults.
            preset = ProviderPresets.Find(name);
        }
        var baseUrl = p.BaseUrl ?? preset?.BaseUrl;
        if (baseUrl is null)
        {
            errors.Add($"{path}:BaseUrl", "is required when no Preset is given.");
            return null;
        }
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri))
        {
            return null; // reported by OptionsValidator
        }
        // Local servers (Ollama, vLLM, llama.cpp) run without keys; cloud presets cannot.
        if (ProviderKeys.Resolve(p, path, preset?.ApiKeyEnv, required: preset?.ApiKeyEnv is not null, _env, errors) is not { } credentials)
        {
            return null;
        }
        var (key, keySource) = credentials;
        var quirks = preset?.Quirks ?? PresetQuirks.None;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in quirks.ExtraHeaders ?? new Dictionary<string, string>()) headers[k] = v;
        foreach (var (k, v) in p.Headers) headers[k] = v;
        return new OpenAiProviderSettings(
            name,
            uri,
            key,
            keySource,
            headers,
            p.Models ?? [.. preset?.ChatModels ?? []],
            p.EmbeddingModels ?? [.. preset?.EmbeddingModels ?? []],
            p.StreamUsage ?? quirks.SupportsStreamUsage,
            quirks,
            p.Timeouts ?? defaultTimeouts)
        {
            ImageModels = p.ImageModels ?? [.. preset?.ImageModels ?? []],
        };
    }
}

public static class OpenAiServiceCollectionExtensions
{
    /// <summary>Registers OpenAI-compatible providers (configured and preset) as a provider source.</summary>
    public static IServiceCollection AddSanjiaOpenAiProviders(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IProviderSource>(sp => new OpenAiProviderSource(sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
