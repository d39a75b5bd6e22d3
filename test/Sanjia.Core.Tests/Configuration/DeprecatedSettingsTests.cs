using Microsoft.Extensions.Configuration;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Routing;

namespace Sanjia.Core.Tests.Configuration;

/// <summary>The stream idle limit's old homes (provider timeouts) keep working, shortening the router's, with a warning naming the new path.</summary>
public class DeprecatedSettingsTests
{
    private static (SanjiaOptions Options, ConfigErrors Errors) Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>("Sanjia:" + s.Key, s.Value)))
            .Build();
        var errors = new ConfigErrors();
        var options = ConfigShape.Bind(configuration, errors);
        Assert.False(errors.Any, string.Join("\n", errors.Errors));
        return (options!, errors);
    }

    private static TimeSpan Idle(SanjiaOptions o, string provider, DeploymentSettings? deployment = null) =>
        AttemptTimeouts.For(o.Routing.Timeouts, deployment ?? DeploymentSettings.Default, null, provider).StreamIdle;

    [Fact]
    public void Without_old_settings_nothing_is_warned_and_the_router_limits_stand()
    {
        var (options, errors) = Bind(("Timeouts:RequestSeconds", "30"), ("Providers:a:Timeouts:ConnectSeconds", "5"), ("Routing:Timeouts:StreamIdleSeconds", "45"));

        Assert.Empty(errors.Warnings);
        Assert.Equal(TimeSpan.FromSeconds(45), Idle(options, "a"));
    }

    [Theory]
    [InlineData("7", null, 7)]     // shortens the default 120 s
    [InlineData("7", "30", 7)]     // and a longer router setting: the shorter limit cut the stream before, too
    [InlineData("300", "30", 30)]  // a longer old value never lengthened it
    public void The_old_global_setting_shortens_the_routers_idle_limit_and_names_the_new_path(string old, string? routing, double expected)
    {
        var (options, errors) = Bind([("Timeouts:StreamIdleSeconds", old), .. routing is null ? Array.Empty<(string, string)>() : [("Routing:Timeouts:StreamIdleSeconds", routing)]]);

        Assert.Equal(expected, options.Routing.Timeouts.StreamIdleSeconds);
        var warning = Assert.Single(errors.Warnings);
        Assert.StartsWith("Sanjia:Timeouts:StreamIdleSeconds: is deprecated", warning, StringComparison.Ordinal);
        Assert.Contains("Set Sanjia:Routing:Timeouts:StreamIdleSeconds instead", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void An_old_provider_setting_shortens_the_idle_limit_of_that_providers_deployments_only()
    {
        var (options, errors) = Bind(("Providers:slow:BaseUrl", "http://127.0.0.1:9/v1"), ("Providers:slow:Timeouts:StreamIdleSeconds", "3"));

        Assert.Equal(TimeSpan.FromSeconds(3), Idle(options, "slow"));
        Assert.Equal(TimeSpan.FromSeconds(3), Idle(options, "SLOW")); // provider names are case-insensitive
        Assert.Equal(TimeSpan.FromSeconds(3), Idle(options, "slow", new DeploymentSettings { StreamIdleSeconds = 60 }));
        Assert.Equal(TimeSpan.FromSeconds(2), Idle(options, "slow", new DeploymentSettings { StreamIdleSeconds = 2 }));
        Assert.Equal(TimeSpan.FromSeconds(120), Idle(options, "other"));
        var warning = Assert.Single(errors.Warnings);
        Assert.StartsWith("Sanjia:Providers:slow:Timeouts:StreamIdleSeconds: is deprecated", warning, StringComparison.Ordinal);
        Assert.Contains("Sanjia:Models:<alias>:Deployments:<i>:Timeouts:StreamIdleSeconds on the deployments of 'slow'", warning, StringComparison.Ordinal);
    }
}
