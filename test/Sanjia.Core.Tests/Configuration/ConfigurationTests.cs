using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Providers.OpenAi;

namespace Sanjia.Core.Tests.Configuration;

public class ConfigurationTests
{
    private static IReadOnlyList<string> Errors(SanjiaOptions options, Dictionary<string, string?>? env = null)
    {
        var errors = new ConfigErrors();
        OptionsValidator.Validate(options, errors);
        var providers = new OpenAiProviderSource(TimeProvider.System, name => env?.GetValueOrDefault(name)).Create(options, errors).ToList();
        _ = new ModelRegistry(providers, options.Models, errors, DateTimeOffset.UnixEpoch);
        return errors.Errors;
    }

    [Fact]
    public void Errors_name_the_exact_configuration_path()
    {
        var options = new SanjiaOptions
        {
            Urls = "not a url",
            MasterKey = "short",
            Providers = { ["acme"] = new ProviderOptions { ApiKey = "k" }, ["nope"] = new ProviderOptions { Preset = "unknownvendor" } },
            Models =
            {
                ["chat"] = new AliasOptions { Deployments = [new DeploymentOptions { Provider = "ghost", Model = "m" }, new DeploymentOptions { Provider = "deepseek" }] },
            },
            Timeouts = new TimeoutOptions { ConnectSeconds = 0 },
        };
        var errors = Errors(options);
        Assert.Contains(errors, e => e.StartsWith("Sanjia:Urls:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sanjia:MasterKey:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sanjia:Providers:acme:BaseUrl:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sanjia:Providers:nope:Preset: unknown preset 'unknownvendor'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sanjia:Models:chat:Deployments:0:Provider: no provider named 'ghost'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sanjia:Models:chat:Deployments:1:Model:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Sanjia:Timeouts:ConnectSeconds:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_configured_cloud_preset_without_a_key_is_an_error_naming_the_variable()
    {
        var errors = Errors(new SanjiaOptions { Providers = { ["deepseek"] = new ProviderOptions() } });
        Assert.Equal(["Sanjia:Providers:deepseek:ApiKey: no API key: set ApiKey or ApiKeyEnv, or the environment variable DEEPSEEK_API_KEY."], errors);
    }

    [Fact]
    public void Presets_are_enabled_by_their_key_variables()
    {
        var env = new Dictionary<string, string?> { ["DEEPSEEK_API_KEY"] = "sk-1", ["MOONSHOT_API_KEY"] = "sk-2" };
        var errors = new ConfigErrors();
        var providers = new OpenAiProviderSource(TimeProvider.System, n => env.GetValueOrDefault(n)).Create(new SanjiaOptions(), errors).ToList();
        var names = providers.Select(p => p.Name).Order().ToList();
        Assert.Contains("deepseek", names);
        Assert.Contains("moonshot", names);
        Assert.DoesNotContain("openai", names);
        Assert.DoesNotContain("ollama", names); // local servers are opt-in through configuration
        var registry = new ModelRegistry(providers, new Dictionary<string, AliasOptions>(), errors, DateTimeOffset.UnixEpoch);
        Assert.NotNull(registry.Resolve("deepseek/any-new-model"));
        Assert.Null(registry.Resolve("openai/gpt-4o"));
        Assert.False(errors.Any);
    }

    [Fact]
    public void Presets_from_the_environment_can_be_turned_off()
    {
        var errors = new ConfigErrors();
        var providers = new OpenAiProviderSource(TimeProvider.System, _ => "sk").Create(new SanjiaOptions { PresetsFromEnvironment = false }, errors);
        Assert.Empty(providers);
    }
}
