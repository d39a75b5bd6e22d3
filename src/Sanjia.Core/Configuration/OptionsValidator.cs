namespace Sanjia.Core.Configuration;

/// <summary>Checks the parts of <see cref="SanjiaOptions"/> that do not depend on which providers exist.</summary>
public static class OptionsValidator
{
    private const string P = SanjiaOptions.Section;

    public static void Validate(SanjiaOptions o, ConfigErrors errors)
    {
        ListenAddresses.Validate(o.Urls, errors);
        if (!(o.ShutdownDrainSeconds >= 0) || double.IsInfinity(o.ShutdownDrainSeconds))
        {
            errors.Add($"{P}:ShutdownDrainSeconds", "must be a number of seconds, 0 or more.");
        }
        ValidateForwardedHeaders(o.ForwardedHeaders, errors);
        if (string.IsNullOrWhiteSpace(o.DataDir))
        {
            errors.Add($"{P}:DataDir", "must not be empty.");
        }
        if (o.MaxRequestBodyBytes < 1024)
        {
            errors.Add($"{P}:MaxRequestBodyBytes", "must be at least 1024.");
        }
        if (o.MasterKey is { Length: > 0 and < 16 })
        {
            errors.Add($"{P}:MasterKey", "must be at least 16 characters long (or left empty to have one generated).");
        }
        ValidateTimeouts(o.Timeouts, $"{P}:Timeouts", errors);
        MeteringOptionsValidator.Validate(o.Metering, errors);
        Caching.CachePolicy.Validate(o, errors);
        _ = Guardrails.GuardrailPolicies.Build(o.Guardrails, errors);
        for (var i = 0; i < o.ModelFiles.Count; i++)
        {
            if (!File.Exists(o.ModelFiles[i]))
            {
                errors.Add($"{P}:ModelFiles:{i}", $"the file '{o.ModelFiles[i]}' does not exist.");
            }
        }
        if (o.Local.MaxConcurrency < 1)
        {
            errors.Add($"{P}:Local:MaxConcurrency", "must be at least 1.");
        }
        if (o.Local.MaxQueue < 0)
        {
            errors.Add($"{P}:Local:MaxQueue", "must not be negative.");
        }
        if (o.Local.ContextSize < 64)
        {
            errors.Add($"{P}:Local:ContextSize", "must be at least 64.");
        }
        if (o.Local.FallbackTemplate is not ("chatml" or "plain"))
        {
            errors.Add($"{P}:Local:FallbackTemplate", "must be 'chatml' or 'plain'.");
        }
        foreach (var (name, provider) in o.Providers)
        {
            var path = $"{P}:Providers:{name}";
            if (name.Contains('/'))
            {
                errors.Add(path, "a provider name must not contain '/'.");
            }
            if (provider.BaseUrl is { } b && (!Uri.TryCreate(b, UriKind.Absolute, out var bu) || (bu.Scheme != "http" && bu.Scheme != "https")))
            {
                errors.Add($"{path}:BaseUrl", $"'{b}' is not an absolute http(s) URL.");
            }
            if (provider.Type is { } type && type.ToLowerInvariant() is not ("openai" or "anthropic" or "gemini" or "azure" or "sdapi"))
            {
                errors.Add($"{path}:Type", $"'{type}' is not a known provider type (openai, anthropic, gemini, azure, sdapi).");
            }
            if (provider.Timeouts is { } t)
            {
                ValidateTimeouts(t, $"{path}:Timeouts", errors);
            }
        }
        foreach (var (alias, a) in o.Models)
        {
            var path = $"{P}:Models:{alias}";
            if (a.Deployments.Count == 0)
            {
                errors.Add($"{path}:Deployments", "must list at least one deployment.");
            }
            for (var i = 0; i < a.Deployments.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(a.Deployments[i].Provider))
                {
                    errors.Add($"{path}:Deployments:{i}:Provider", "is required.");
                }
                if (string.IsNullOrWhiteSpace(a.Deployments[i].Model))
                {
                    errors.Add($"{path}:Deployments:{i}:Model", "is required.");
                }
            }
        }
    }

    private static void ValidateTimeouts(TimeoutOptions t, string path, ConfigErrors errors)
    {
        if (t.ConnectSeconds <= 0) errors.Add($"{path}:ConnectSeconds", "must be positive.");
        if (t.RequestSeconds <= 0) errors.Add($"{path}:RequestSeconds", "must be positive.");
        if (t.StreamIdleSeconds <= 0) errors.Add($"{path}:StreamIdleSeconds", "must be positive.");
    }

    private static void ValidateForwardedHeaders(ForwardedHeadersSettings f, ConfigErrors errors)
    {
        for (var i = 0; i < f.KnownProxies.Count; i++)
        {
            if (!System.Net.IPAddress.TryParse(f.KnownProxies[i], out _))
            {
                errors.Add($"{P}:ForwardedHeaders:KnownProxies:{i}", $"'{f.KnownProxies[i]}' is not an IP address.");
            }
        }
        for (var i = 0; i < f.KnownNetworks.Count; i++)
        {
            if (!System.Net.IPNetwork.TryParse(f.KnownNetworks[i], out _))
            {
                errors.Add($"{P}:ForwardedHeaders:KnownNetworks:{i}", $"'{f.KnownNetworks[i]}' is not a network in CIDR notation, e.g. 10.0.0.0/8.");
            }
        }
        if (f.ForwardLimit < 1)
        {
            errors.Add($"{P}:ForwardedHeaders:ForwardLimit", "must be at least 1.");
        }
    }
}
