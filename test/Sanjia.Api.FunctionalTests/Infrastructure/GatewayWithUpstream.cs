using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Infrastructure;

/// <summary>A test class's fixture: one fake vendor and the real gateway in front of it, configured by <see cref="Settings"/>.</summary>
public abstract class GatewayWithUpstream : IAsyncLifetime
{
    protected FakeOpenAiServer Upstream { get; private set; } = null!;
    protected GatewayServer Gateway { get; private set; } = null!;

    /// <summary>The gateway's settings; by default the fake vendor as provider <c>fake</c>.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> Settings(FakeOpenAiServer upstream) => GatewayServer.Upstream(upstream);

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAiServer.StartAsync();
        Gateway = await GatewayServer.StartAsync(Settings(Upstream));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
