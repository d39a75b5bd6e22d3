using Microsoft.Extensions.Configuration;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Tests.Configuration;

/// <summary>Unknown keys and values of the wrong type, found before binding, with their exact path.</summary>
public class ConfigShapeTests
{
    private static IReadOnlyList<string> Errors(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var errors = new ConfigErrors();
        var options = ConfigShape.Bind(configuration, errors);
        Assert.Equal(errors.Any, options is null);
        return errors.Errors;
    }

    [Fact]
    public void Misspelt_keys_at_every_depth_are_named_with_the_nearest_setting()
    {
        var errors = Errors(
            ("Sanjia:Local:MaxQeue", "8"),
            ("Sanjia:Timeuts:RequestSeconds", "30"),
            ("Sanjia:Providers:corp:BaseUrll", "http://x/v1"),
            ("Sanjia:Models:chat:Deployments:0:Modle", "m"),
            ("Sanjia:Metering:Prices:openai/gpt-5:Inptu", "1"));
        Assert.Equal(
        [
            "Sanjia:Local:MaxQeue: unknown setting. Did you mean 'MaxQueue'?",
            "Sanjia:Metering:Prices:openai/gpt-5:Inptu: unknown setting. Did you mean 'Input'?",
            "Sanjia:Models:chat:Deployments:0:Modle: unknown setting. Did you mean 'Model'?",
            "Sanjia:Providers:corp:BaseUrll: unknown setting. Did you mean 'BaseUrl'?",
            "Sanjia:Timeuts: unknown setting. Did you mean 'Timeouts'?",
        ], errors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_key_far_from_every_setting_lists_the_settings_there()
    {
        var error = Assert.Single(Errors(("Sanjia:Local:Banana", "1")));
        Assert.StartsWith("Sanjia:Local:Banana: unknown setting. Known settings here: ContextSize, DefaultMaxTokens, Embeddings,", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_of_the_wrong_type_are_named_instead_of_throwing_from_the_binder()
    {
        var errors = Errors(
            ("Sanjia:Local:MaxQueue", "eight"),
            ("Sanjia:PresetsFromEnvironment", "yes"),
            ("Sanjia:Models:chat:Deployments:0:Weight", "heavy"),
            ("Sanjia:Local", "5"),
            ("Sanjia:Urls:0", "http://127.0.0.1:1"));
        Assert.Contains("Sanjia:Local:MaxQueue: 'eight' is not a whole number.", errors);
        Assert.Contains("Sanjia:PresetsFromEnvironment: 'yes' is not true or false.", errors);
        Assert.Contains("Sanjia:Models:chat:Deployments:0:Weight: 'heavy' is not a number.", errors);
        Assert.Contains("Sanjia:Urls: expected a single value (text), not a section.", errors);
    }

    [Fact]
    public void Known_keys_in_any_case_bind_as_before()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sanjia:local:maxqueue"] = "3",
            ["Sanjia:Providers:corp:BaseUrl"] = "http://10.0.0.5:8000/v1",
            ["Sanjia:Providers:corp:Headers:X-Anything-Goes"] = "1",
            ["Sanjia:Metering:ExchangeRates:USD:CNY"] = "7.1",
            ["Sanjia:ModelFiles:0"] = "a.gguf",
            ["Sanjia:ShutdownDrainSeconds"] = "2.5",
            ["Unrelated:Section"] = "not ours",
        }).Build();
        var errors = new ConfigErrors();
        var options = ConfigShape.Bind(configuration, errors);
        Assert.Empty(errors.Errors);
        Assert.Equal(3, options!.Local.MaxQueue);
        Assert.Equal("1", options.Providers["corp"].Headers["X-Anything-Goes"]);
        Assert.Equal(7.1m, options.Metering.ExchangeRates["USD"]["CNY"]);
        Assert.Equal(2.5, options.ShutdownDrainSeconds);
    }

    [Theory]
    [InlineData("MaxQeue", "MaxQueue")]
    [InlineData("Timeuts", "Timeouts")]
    [InlineData("--prot", "--port")]
    [InlineData("modles", "models")]
    [InlineData("bogus", null)]
    public void Spelling_suggests_only_close_names(string typed, string? expected) =>
        Assert.Equal(expected, Spelling.Closest(typed, ["MaxQueue", "Timeouts", "--port", "--host", "models", "serve", "prices"]));
}
