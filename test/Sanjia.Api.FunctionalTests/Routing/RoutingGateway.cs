using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Hosting;

namespace Sanjia.Api.FunctionalTests.Routing;

/// <summary>The real gateway on a loopback port, configured by command-line settings, with a client holding the master key.</summary>
internal sealed class RoutingGateway : IAsyncDisposable
{
    public const string MasterKey = "sk-routing-master-key-0123456789";

    private readonly string _dir;

    private RoutingGateway(WebApplication app, string dir, HttpClient client)
    {
        App = app;
        _dir = dir;
        Client = client;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>Settings a test always wants: short backoff so retries take milliseconds, not seconds.</summary>
    public static readonly string[] FastRetries =
    [
        "--Sanjia:Routing:Retry:BaseDelaySeconds=0.02",
        "--Sanjia:Routing:Retry:MaxDelaySeconds=0.1",
    ];

    public static async Task<RoutingGateway> StartAsync(params string[] settings)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sanjia-routing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "models"));
        string[] args =
        [
            "--Sanjia:Urls=http://127.0.0.1:0",
            $"--Sanjia:DataDir={Path.Combine(dir, "data")}",
            $"--Sanjia:MasterKey={MasterKey}",
            $"--Sanjia:ModelsDir={Path.Combine(dir, "models")}",
            "--Sanjia:Local:Embeddings=false",
            "--Sanjia:PresetsFromEnvironment=false",
            .. FastRetries,
            .. settings,
        ];
        var app = GatewayApp.Build(args);
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(GatewayApp.Addresses(app)[0]), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        return new RoutingGateway(app, dir, client);
    }

    /// <summary>Settings for an OpenAI-compatible provider named <paramref name="name"/> at a base URL.</summary>
    public static IEnumerable<string> Provider(string name, string baseUrl, string apiKey) =>
        [$"--Sanjia:Providers:{name}:BaseUrl={baseUrl}", $"--Sanjia:Providers:{name}:ApiKey={apiKey}"];

    /// <summary>Settings for deployment <paramref name="index"/> of <paramref name="alias"/>, plus extra <c>Key=value</c> fields.</summary>
    public static IEnumerable<string> Deployment(string alias, int index, string provider, string model, params string[] fields) =>
    [
        $"--Sanjia:Models:{alias}:Deployments:{index}:Provider={provider}",
        $"--Sanjia:Models:{alias}:Deployments:{index}:Model={model}",
        .. fields.Select(f => $"--Sanjia:Models:{alias}:Deployments:{index}:{f}"),
    ];

    public static HttpRequestMessage Chat(string model, bool stream, string prompt = "Say hello", int? maxTokens = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["stream"] = stream,
            ["messages"] = new[] { new { role = "user", content = prompt } },
        };
        if (maxTokens is { } m) body["max_tokens"] = m;
        return new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    public async Task<JsonElement> DeploymentsAsync()
    {
        var json = await Client.GetStringAsync("/admin/deployments");
        return JsonDocument.Parse(json).RootElement.GetProperty("data");
    }

    public async Task<JsonElement> DeploymentAsync(string id) =>
        (await DeploymentsAsync()).EnumerateArray().Single(d => d.GetProperty("id").GetString() == id);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // The ledger may still hold the file for a moment; the temp folder is cleaned by the OS later.
        }
    }
}

/// <summary>A Server-Sent Events body as the client saw it.</summary>
internal sealed record SseRead(IReadOnlyList<string> Events, bool Done, bool BrokenOff)
{
    /// <summary>The content text of every chunk, joined.</summary>
    public string Text => string.Concat(Events.Where(e => e.Contains("\"choices\"", StringComparison.Ordinal)).Select(e =>
    {
        using var doc = JsonDocument.Parse(e);
        var choices = doc.RootElement.GetProperty("choices");
        return choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : "";
    }));

    public int ContentChunks => Events.Count(e => e.Contains("\"content\":\"", StringComparison.Ordinal));

    public string? Error => Events.FirstOrDefault(e => e.StartsWith("{\"error\"", StringComparison.Ordinal));

    public static async Task<SseRead> ReadAsync(HttpResponseMessage response, int? stopAfterEvents = null)
    {
        var events = new List<string>();
        var done = false;
        var broken = false;
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var data = line["data: ".Length..];
                if (data == "[DONE]")
                {
                    done = true;
                    continue;
                }
                events.Add(data);
                if (events.Count == stopAfterEvents) break;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            broken = true;
        }
        return new SseRead(events, done, broken);
    }
}

internal static class ResponseHeaders
{
    public static string? Get(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) ? string.Join(",", v) : null;
}
