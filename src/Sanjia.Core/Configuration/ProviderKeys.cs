namespace Sanjia.Core.Configuration;

/// <summary>Where a provider's API key comes from: <c>ApiKey</c> in configuration, else an environment variable.</summary>
public static class ProviderKeys
{
    /// <summary>
    /// The key and a description of its source for the start-up banner (never the key itself). A missing required key
    /// is reported at <c>{path}:ApiKey</c> and gives null; a missing optional one gives an empty key from "none".
    /// </summary>
    public static (string Key, string Source)? Resolve(ProviderOptions p, string path, string? defaultEnv, bool required,
        Func<string, string?> environment, ConfigErrors errors)
    {
        if (!string.IsNullOrEmpty(p.ApiKey))
        {
            return (p.ApiKey, "configuration");
        }
        var env = p.ApiKeyEnv ?? defaultEnv;
        if (env is not null && environment(env) is { Length: > 0 } fromEnv)
        {
            return (fromEnv, "$" + env);
        }
        if (required || p.ApiKeyEnv is not null)
        {
            errors.Add($"{path}:ApiKey", $"no API key: set ApiKey or ApiKeyEnv{(env is null ? "" : $", or the environment variable {env}")}.");
            return null;
        }
        return ("", "none");
    }
}
