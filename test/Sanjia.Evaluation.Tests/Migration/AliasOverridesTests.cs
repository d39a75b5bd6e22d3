using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Evaluation.Tests.Migration;

public sealed class AliasOverridesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-overrides-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, AliasOptions> Configured() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["chat"] = new AliasOptions
        {
            Strategy = "weighted",
            Deployments =
            [
                new DeploymentOptions { Provider = "a", Model = "m1", Priority = 0 },
                new DeploymentOptions { Provider = "b", Model = "m2", Priority = 5, MaxConcurrentRequests = 3 },
                new DeploymentOptions { Provider = "c", Model = "m3", Priority = 1 },
            ],
        },
        ["other"] = new AliasOptions { Deployments = [new DeploymentOptions { Provider = "a", Model = "m1" }] },
    };

    private static AliasOverride Promote(string alias, string provider, string model) => new(alias, provider, model, DateTimeOffset.UnixEpoch);

    [Fact]
    public void A_listed_deployment_moves_first_keeping_its_settings_and_the_rest_follow_by_priority()
    {
        var overrides = new AliasOverrides(_dir);
        overrides.Set("chat", Promote("chat", "b", "m2"));

        var chat = overrides.Apply(Configured())["chat"];

        Assert.Equal("priority", chat.Strategy);
        Assert.Equal(["b/m2", "a/m1", "c/m3"], chat.Deployments.Select(d => $"{d.Provider}/{d.Model}"));
        Assert.Equal([0, 1, 2], chat.Deployments.Select(d => d.Priority));
        Assert.Equal(3, chat.Deployments[0].MaxConcurrentRequests);
    }

    [Fact]
    public void An_unlisted_deployment_is_added_first_and_other_aliases_are_untouched()
    {
        var overrides = new AliasOverrides(_dir);
        overrides.Set("chat", Promote("chat", "d", "m4"));
        var configured = Configured();

        var applied = overrides.Apply(configured);

        Assert.Equal(["d/m4", "a/m1", "c/m3", "b/m2"], applied["chat"].Deployments.Select(d => $"{d.Provider}/{d.Model}"));
        Assert.Same(configured["other"], applied["other"]);
        Assert.Equal("weighted", configured["chat"].Strategy); // the configuration itself is not changed
    }

    [Fact]
    public void Overrides_persist_and_removing_one_restores_the_configuration()
    {
        new AliasOverrides(_dir).Set("chat", Promote("chat", "c", "m3"));
        var reloaded = new AliasOverrides(_dir);
        Assert.Equal("c", reloaded.Get("CHAT")!.Provider);
        var first = reloaded.Apply(Configured())["chat"].Deployments[0];
        Assert.Equal(("c", "m3"), (first.Provider, first.Model));

        reloaded.Set("chat", null);
        var configured = Configured();
        Assert.Same(configured["chat"], new AliasOverrides(_dir).Apply(configured)["chat"]);
    }

    [Fact]
    public void An_override_of_an_alias_no_longer_configured_is_ignored()
    {
        var overrides = new AliasOverrides(_dir);
        overrides.Set("gone", Promote("gone", "a", "m1"));
        Assert.False(overrides.Apply(Configured()).ContainsKey("gone"));
    }

    [Fact]
    public void A_corrupt_file_stops_start_up_naming_it()
    {
        File.WriteAllText(Path.Combine(_dir, AliasOverrides.FileName), "{not json");
        var e = Assert.Throws<ConfigurationException>(() => new AliasOverrides(_dir));
        Assert.Contains(AliasOverrides.FileName, e.Errors[0], StringComparison.Ordinal);
    }
}
