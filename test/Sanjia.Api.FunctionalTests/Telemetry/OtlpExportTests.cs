using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Telemetry;

/// <summary>
/// The standard <c>OTEL_*</c> variables point the gateway's exporter at a collector: here a small OTLP/HTTP receiver
/// (Kestrel, <c>POST /v1/traces</c> and <c>/v1/metrics</c>, protobuf bodies kept as bytes). Protobuf carries strings
/// as they are, so the span name, attribute names and values are found in the bytes without a protobuf parser.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Traces_and_metrics_go_to_the_collector_the_standard_variables_name()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var vendor = await FakeOpenAiServer.StartAsync();
        var alias = "otlp" + Guid.NewGuid().ToString("N")[..10];
        var gateway = await GatewayServer.StartWithEnvironmentAsync(
            new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                ["OTEL_SERVICE_NAME"] = "sanjia-under-test",
            },
            [.. GatewayServer.Provider("v", vendor.BaseUrl, vendor.ApiKey), .. GatewayServer.Deployment(alias, 0, "v", alias + "-model")]);
        await using (gateway)
        {
            using var response = await gateway.SendAsync(GatewayServer.Chat(alias, stream: false));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var trace = await collector.WaitForAsync("/v1/traces", $"chat {alias}-model");
            Assert.Equal("application/x-protobuf", trace.ContentType);
            foreach (var text in new[] { "gen_ai.request.model", "gen_ai.usage.output_tokens", "sanjia.deployment", $"v/{alias}-model", "sanjia-under-test", "POST" })
            {
                Assert.True(Contains(trace.Body, text), $"the exported spans lack '{text}'");
            }
        }
        // The meter provider exports what it has when the gateway stops.
        var metrics = await collector.WaitForAsync("/v1/metrics", "gen_ai.client.token.usage");
        Assert.True(Contains(metrics.Body, $"v/{alias}-model"));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> _received = new();

        private OtlpReceiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.Run(async http =>
            {
                using var buffer = new MemoryStream();
                await http.Request.Body.CopyToAsync(buffer);
                receiver._received.Enqueue((http.Request.Path.Value!, http.Request.ContentType, buffer.ToArray()));
                // An empty Export*ServiceResponse: full success (OTLP/HTTP).
                http.Response.ContentType = "application/x-protobuf";
                http.Response.StatusCode = 200;
            });
            await app.StartAsync();
            receiver.Url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First().TrimEnd('/');
            return receiver;
        }

        /// <summary>The first export to <paramref name="path"/> whose body holds <paramref name="text"/> (other tests' gateways export here too while this one runs).</summary>
        public async Task<(string? ContentType, byte[] Body)> WaitForAsync(string path, string text)
        {
            var needle = Encoding.UTF8.GetBytes(text);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                foreach (var (p, type, body) in _received)
                {
                    if (p == path && body.AsSpan().IndexOf(needle) >= 0) return (type, body);
                }
                Assert.True(DateTime.UtcNow < deadline, $"nothing with '{text}' at {path}; received {string.Join(", ", _received.Select(r => r.Path))}");
                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
