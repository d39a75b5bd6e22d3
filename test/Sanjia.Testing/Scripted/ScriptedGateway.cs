using Microsoft.Extensions.Time.Testing;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Testing;

/// <summary>
/// An engine over scripted providers, in process: alias <c>chat</c> lists <c>{name}/m-{name}</c> for each provider in
/// order; the clock is a <see cref="FakeTimeProvider"/> that moves only when the test advances it.
/// </summary>
public sealed record ScriptedGateway(GatewayEngine Engine, RecordingLedger Ledger, ResilientRouter Router, FakeTimeProvider Time)
{
    public static ScriptedGateway Create(params ScriptedProvider[] providers) => Create(new RoutingOptions(), providers);

    public static ScriptedGateway Create(RoutingOptions options, params ScriptedProvider[] providers) =>
        Create(options, new FakeTimeProvider(), null, providers);

    /// <param name="random">The router's jitter and weighted draws (null: the system's).</param>
    /// <param name="deployment">Sets a provider's deployment settings (priority, concurrency limit, timeouts).</param>
    public static ScriptedGateway Create(RoutingOptions options, FakeTimeProvider time, IRandomSource? random, ScriptedProvider[] providers,
        Action<ScriptedProvider, DeploymentOptions>? deployment = null)
    {
        var aliases = new Dictionary<string, AliasOptions>
        {
            ["chat"] = new()
            {
                Deployments = [.. providers.Select(p =>
                {
                    var d = new DeploymentOptions { Provider = p.Name, Model = "m-" + p.Name };
                    deployment?.Invoke(p, d);
                    return d;
                })],
            },
        };
        var errors = new ConfigErrors();
        var registry = new ModelRegistry(providers, aliases, errors, DateTimeOffset.UnixEpoch);
        if (errors.Any) throw new InvalidOperationException(string.Join("\n", errors.Errors));
        var ledger = new RecordingLedger();
        var router = RoutingServiceCollectionExtensions.CreateRouter(options, time, random);
        return new ScriptedGateway(new GatewayEngine(registry, ledger, time, router), ledger, router, time);
    }
}
