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

namespace Sanjia.Testing.Otlp;

/// <summary>
/// A small OTLP/HTTP collector for tests (Kestrel, <c>POST /v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>),
/// keeping each export's protobuf body as bytes. Protobuf carries strings as they are, so span names, attribute names
/// and values are found in the bytes without a protobuf parser. Point a gateway at it with
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> = <see cref="Url"/> and <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> _received = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>Every export received so far: its path, content type and body.</summary>
    public IReadOnlyCollection<(string Path, string? ContentType, byte[] Body)> Received => _received;

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

    /// <summary>The first export to <paramref name="path"/> whose body holds <paramref name="text"/> (other tests' gateways may export here too).</summary>
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
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"nothing with '{text}' at {path}; received {string.Join(", ", _received.Select(r => r.Path))}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Every export to <paramref name="path"/> so far, concatenated, once together they hold each of
    /// <paramref name="texts"/>: spans of one request can come in different exports (a batch can be sent between a
    /// request's client span ending and its server span ending, after the response).
    /// </summary>
    public async Task<byte[]> WaitForAllAsync(string path, params string[] texts)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var all = _received.Where(r => r.Path == path).SelectMany(r => r.Body).ToArray();
            var missing = texts.Where(t => all.AsSpan().IndexOf(Encoding.UTF8.GetBytes(t)) < 0).ToList();
            if (missing.Count == 0) return all;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the exports to {path} lack '{string.Join("', '", missing)}'");
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
