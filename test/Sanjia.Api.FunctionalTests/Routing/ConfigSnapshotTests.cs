using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Core.Configuration;
using Sanjia.Core.Pipeline;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>
/// A reload puts one new configuration snapshot in force: providers whose settings did not change are kept with
/// their connections, replaced ones are disposed once their requests are done, and nothing piles up (each reload
/// used to leave a <see cref="SocketsHttpHandler"/>, and its pooled connection, behind per provider).
/// </summary>
public sealed class ConfigSnapshotTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>Provider <c>a</c> behind alias <c>chat</c>; a different <paramref name="generation"/> changes the provider's settings (a header).</summary>
    private static string Config(FakeOpenAiServer a, int generation, int weight = 1) =>
        "{\"Sanjia\":{\"Providers\":{"
        + $"\"a\":{{\"BaseUrl\":\"{a.BaseUrl}\",\"ApiKey\":\"{a.ApiKey}\",\"Headers\":{{\"X-Generation\":\"{generation}\"}}}}}},"
        + $"\"Models\":{{\"chat\":{{\"Deployments\":[{{\"Provider\":\"a\",\"Model\":\"m\",\"Weight\":{weight}}}]}}}}}}}}";

    private static async Task<T> EventuallyAsync<T>(Func<T> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        var value = read();
        while (!done(value) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            value = read();
        }
        return value;
    }

    private static async Task ReloadAsync(GatewayServer gw, string file, string config)
    {
        await File.WriteAllTextAsync(file, config);
        Assert.Empty(await gw.Service<ConfigReloader>().ReloadAsync());
    }

    private static async Task AskAsync(GatewayServer gw)
    {
        using var response = await gw.SendAsync(GatewayServer.Chat("chat", stream: false));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a/m", response.Get("x-sanjia-deployment"));
    }

    private static async Task WithConfigFileAsync(string config, Func<string, Task> test)
    {
        var file = Path.Combine(Path.GetTempPath(), $"sanjia-snapshot-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, config);
        try
        {
            await test(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Twenty_reloads_that_change_a_provider_leave_no_extra_connections_or_providers()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await WithConfigFileAsync(Config(a, 0), async file =>
        {
            await using var gw = await GatewayServer.StartWithArgsAsync("--config", file);
            var builder = gw.Service<GatewaySnapshotBuilder>();
            var engine = gw.Service<GatewayEngine>();
            await AskAsync(gw);
            for (var generation = 1; generation <= 20; generation++)
            {
                await ReloadAsync(gw, file, Config(a, generation));
                await AskAsync(gw);
            }

            // Each generation's provider was new and opened its own connection...
            Assert.Equal(21, a.Requests.Select(r => r.Headers["X-Generation"]).Distinct().Count());
            Assert.True(a.AcceptedConnections >= 21, $"{a.AcceptedConnections} connections accepted");
            // ...and every replaced one was disposed with its handler, closing its connection: only the last stays.
            Assert.Equal(1, await EventuallyAsync(() => a.OpenConnections, n => n <= 1));
            Assert.Equal(engine.Registry.Providers.Count(), builder.LiveProviders);
        });
    }

    [Fact]
    public async Task Unchanged_providers_are_kept_across_reloads_with_their_connection()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await WithConfigFileAsync(Config(a, 0), async file =>
        {
            await using var gw = await GatewayServer.StartWithArgsAsync("--config", file);
            var engine = gw.Service<GatewayEngine>();
            var provider = engine.Registry.Providers.Single(p => p.Name == "a");
            await AskAsync(gw);
            for (var i = 0; i < 20; i++)
            {
                // The alias changes (a new snapshot each time); provider a's settings do not.
                await ReloadAsync(gw, file, Config(a, 0, weight: 2 + i));
                await AskAsync(gw);
            }

            Assert.Same(provider, engine.Registry.Providers.Single(p => p.Name == "a"));
            Assert.Equal(21, a.Requests.Count);
            Assert.Equal(1, a.AcceptedConnections);
        });
    }

    [Fact]
    public async Task A_request_in_flight_during_a_reload_finishes_on_its_old_provider_which_is_disposed_after()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await WithConfigFileAsync(Config(a, 0), async file =>
        {
            await using var gw = await GatewayServer.StartWithArgsAsync("--config", file);
            var engine = gw.Service<GatewayEngine>();
            var builder = gw.Service<GatewaySnapshotBuilder>();
            a.Enqueue(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromSeconds(1)));
            var inFlight = gw.SendAsync(GatewayServer.Chat("chat", stream: false));
            Assert.Equal(1, await EventuallyAsync(() => a.ActiveRequests, n => n == 1));

            await ReloadAsync(gw, file, Config(a, 1));
            // The request still holds its snapshot: the replaced provider is alive beside the new one.
            Assert.True(builder.LiveProviders > engine.Registry.Providers.Count(), $"{builder.LiveProviders} providers live");

            using var answered = await inFlight;
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Equal("0", Assert.Single(a.Requests).Headers["X-Generation"]);
            // Then it goes, and its pooled connection with it.
            Assert.Equal(engine.Registry.Providers.Count(), await EventuallyAsync(() => builder.LiveProviders, n => n == engine.Registry.Providers.Count()));
            Assert.Equal(0, await EventuallyAsync(() => a.OpenConnections, n => n == 0));
        });
    }

    [Fact]
    public async Task A_stream_in_flight_during_a_reload_finishes_on_its_old_provider()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await WithConfigFileAsync(Config(a, 0), async file =>
        {
            await using var gw = await GatewayServer.StartWithArgsAsync("--config", file);
            var engine = gw.Service<GatewayEngine>();
            var old = engine.Registry.Providers.Single(p => p.Name == "a");
            a.Enqueue(FakeBehavior.StreamChunks(10, TimeSpan.FromMilliseconds(100)));
            using var inFlight = await gw.SendAsync(GatewayServer.Chat("chat", stream: true));
            Assert.Equal(HttpStatusCode.OK, inFlight.StatusCode);

            await ReloadAsync(gw, file, Config(a, 1));
            Assert.NotSame(old, engine.Registry.Providers.Single(p => p.Name == "a"));
            // The replaced provider's connection carries the stream on.
            Assert.Equal(1, a.OpenConnections);

            var stream = await SseRead.ReadAsync(inFlight);
            Assert.True(stream.Done);
            Assert.False(stream.BrokenOff);
            Assert.Equal(10, stream.ContentChunks);
            Assert.Equal("0", Assert.Single(a.Requests).Headers["X-Generation"]);

            // The next request is the new provider's, on a connection of its own.
            await AskAsync(gw);
            Assert.Equal("1", a.Requests[^1].Headers["X-Generation"]);
            Assert.Equal(2, a.AcceptedConnections);
        });
    }

    [Fact]
    public async Task Shutdown_disposes_every_provider_and_closes_its_connections()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        await WithConfigFileAsync(Config(a, 0), async file =>
        {
            var gw = await GatewayServer.StartWithArgsAsync("--config", file);
            await AskAsync(gw);
            Assert.Equal(1, a.OpenConnections);

            await gw.DisposeAsync();

            Assert.Equal(0, await EventuallyAsync(() => a.OpenConnections, n => n == 0));
        });
    }
}
