using System.Net;
using System.Text;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Otlp;

namespace Sanjia.Api.FunctionalTests.Telemetry;

/// <summary>
/// The standard <c>OTEL_*</c> variables point the gateway's exporter at a collector: here a small OTLP/HTTP receiver
/// (<see cref="OtlpReceiver"/>: protobuf bodies kept as bytes, searched for strings).
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
            // The server span ends after the response, so it can come in a later export than the client span.
            await collector.WaitForAllAsync("/v1/traces", "gen_ai.request.model", "gen_ai.usage.output_tokens", "sanjia.deployment", $"v/{alias}-model", "sanjia-under-test", "POST");
        }
        // The meter provider exports what it has when the gateway stops.
        var metrics = await collector.WaitForAsync("/v1/metrics", "gen_ai.client.token.usage");
        Assert.True(Contains(metrics.Body, $"v/{alias}-model"));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
