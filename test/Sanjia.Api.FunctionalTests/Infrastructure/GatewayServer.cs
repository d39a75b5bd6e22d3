using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using Sanjia.Abstractions;
using Sanjia.Core.Metering;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Infrastructure;

/// <summary>
/// The real gateway (the same composition root the CLI uses) on a real socket at 127.0.0.1:&lt;free port&gt;, with
/// its own data folder and master key. Configuration is given as <c>Sanjia:*</c> keys, as a user would: either as
/// key/value pairs without the section (<see cref="StartAsync(IEnumerable{KeyValuePair{string, string}}?)"/>) or as
/// command-line arguments (<see cref="StartWithArgsAsync"/>, with the helpers <see cref="Provider"/>,
/// <see cref="Deployment"/> and <see cref="FastRetries"/>).
/// </summary>
public sealed class GatewayServer : IAsyncDisposable
{
    public const string MasterKey = "sk-test-master-key-0123456789";

    private bool _stopped;

    private GatewayServer(WebApplication app, string dataDir, string key)
    {
        App = app;
        DataDir = dataDir;
        Key = key;
        BaseUrl = GatewayApp.Addresses(app).First().TrimEnd('/');
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(120) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Anonymous = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(120) };
    }

    public WebApplication App { get; }
    /// <summary>The gateway's data folder (its <c>models</c> folder is inside); deleted by <see cref="DisposeAsync"/>.</summary>
    public string DataDir { get; }
    public string BaseUrl { get; }
    /// <summary>The master key this gateway was started with (<see cref="MasterKey"/> unless a test chose another).</summary>
    public string Key { get; }
    /// <summary>Sends the master key.</summary>
    public HttpClient Http { get; }
    /// <summary>Sends no key.</summary>
    public HttpClient Anonymous { get; }
    public string DatabasePath => Path.Combine(DataDir, "sanjia.db");

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public static string NewDataDir() => Directory.CreateTempSubdirectory("sanjia-test-").FullName;

    /// <summary>The command-line arguments every test gateway gets: loopback port, data and models folders, master key.</summary>
    public static string[] BaseArgs(string dataDir, string masterKey = MasterKey, string urls = "http://127.0.0.1:0")
    {
        var modelsDir = Directory.CreateDirectory(Path.Combine(dataDir, "models")).FullName;
        return
        [
            $"--Sanjia:Urls={urls}",
            $"--Sanjia:DataDir={dataDir}",
            $"--Sanjia:MasterKey={masterKey}",
            $"--Sanjia:ModelsDir={modelsDir}",
            "--Sanjia:PresetsFromEnvironment=false",
            "--Sanjia:Local:Embeddings=false",
            "--Logging:LogLevel:Default=Warning",
        ];
    }

    /// <param name="settings">Extra <c>Sanjia:*</c> settings (key without the section, e.g. <c>Providers:fake:BaseUrl</c>).</param>
    public static Task<GatewayServer> StartAsync(IEnumerable<KeyValuePair<string, string>>? settings = null) =>
        StartInAsync(NewDataDir(), [.. (settings ?? []).Select(s => $"--Sanjia:{s.Key}={s.Value}")]);

    /// <param name="args">Extra command-line arguments (<c>--Sanjia:Providers:a:BaseUrl=...</c>).</param>
    public static Task<GatewayServer> StartWithArgsAsync(params string[] args) => StartInAsync(NewDataDir(), args);

    /// <summary>Starts on a data folder the test owns, so it can <see cref="StopAsync"/> and start again on the same state.</summary>
    public static Task<GatewayServer> StartInAsync(string dataDir, params string[] args) => LaunchAsync(dataDir, MasterKey, args);

    public static Task<GatewayServer> StartWithMasterKeyAsync(string masterKey, params string[] args) => LaunchAsync(NewDataDir(), masterKey, args);

    /// <summary>
    /// With settings the command line does not take, as the environment would give them (e.g. the standard
    /// <c>OTEL_*</c> variables), for this gateway only (the process's environment is shared by every test).
    /// </summary>
    public static Task<GatewayServer> StartWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        LaunchAsync(NewDataDir(), MasterKey, args, b => b.Configuration.AddInMemoryCollection(environment));

    private static async Task<GatewayServer> LaunchAsync(string dataDir, string masterKey, string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var app = GatewayApp.Build([.. BaseArgs(dataDir, masterKey), .. args], configure);
        await app.StartAsync();
        return new GatewayServer(app, dataDir, masterKey);
    }

    /// <summary>Settings that put a fake vendor behind the gateway as provider <paramref name="name"/>.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Upstream(FakeOpenAiServer upstream, string name = "fake")
    {
        yield return new($"Providers:{name}:BaseUrl", upstream.BaseUrl);
        yield return new($"Providers:{name}:ApiKey", upstream.ApiKey);
        yield return new($"Providers:{name}:Models:0", "gpt-4o-mini");
        yield return new($"Providers:{name}:EmbeddingModels:0", "text-embedding-3-small");
    }

    /// <summary>Short retry backoff so retries take milliseconds, not seconds.</summary>
    public static readonly string[] FastRetries =
    [
        "--Sanjia:Routing:Retry:BaseDelaySeconds=0.02",
        "--Sanjia:Routing:Retry:MaxDelaySeconds=0.1",
    ];

    /// <summary>Arguments for a provider named <paramref name="name"/> at a base URL; <paramref name="type"/> as in <c>Providers:*:Type</c> (OpenAI-compatible when null).</summary>
    public static string[] Provider(string name, string baseUrl, string apiKey, string? type = null) =>
    [
        .. type is null ? Array.Empty<string>() : [$"--Sanjia:Providers:{name}:Type={type}"],
        $"--Sanjia:Providers:{name}:BaseUrl={baseUrl}",
        $"--Sanjia:Providers:{name}:ApiKey={apiKey}",
    ];

    /// <summary>Arguments for deployment <paramref name="index"/> of <paramref name="alias"/>, plus extra <c>Key=value</c> fields.</summary>
    public static string[] Deployment(string alias, int index, string provider, string model, params string[] fields) =>
    [
        $"--Sanjia:Models:{alias}:Deployments:{index}:Provider={provider}",
        $"--Sanjia:Models:{alias}:Deployments:{index}:Model={model}",
        .. fields.Select(f => $"--Sanjia:Models:{alias}:Deployments:{index}:{f}"),
    ];

    public OpenAIClient OpenAi(string? key = null, int retries = 0) => new(
        new ApiKeyCredential(key ?? Key),
        new OpenAIClientOptions { Endpoint = new Uri(BaseUrl + "/v1"), RetryPolicy = new ClientRetryPolicy(retries), NetworkTimeout = TimeSpan.FromSeconds(60) });

    /// <summary>A new client (base address ending in <c>/</c>) sending the master key as <c>x-api-key</c>, as Anthropic's clients do, or no key.</summary>
    public HttpClient CreateHttpClient(bool withKey = true)
    {
        var http = new HttpClient { BaseAddress = new Uri(BaseUrl + "/"), Timeout = TimeSpan.FromMinutes(2) };
        if (withKey) http.DefaultRequestHeaders.Add("x-api-key", Key);
        return http;
    }

    /// <summary>A request with a bearer <paramref name="key"/> (none when null) and a JSON body; send it with <see cref="Anonymous"/>.</summary>
    public HttpRequestMessage Request(HttpMethod method, string path, string? key, object? body = null)
    {
        var m = new HttpRequestMessage(method, path);
        if (key is not null) m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) m.Content = JsonContent.Create(body);
        return m;
    }

    /// <summary>A chat completion body; <c>max_tokens</c> only when given.</summary>
    public static StringContent ChatBody(string model, string prompt = "Say hello", bool stream = false, int? maxTokens = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["stream"] = stream,
            ["messages"] = new[] { new { role = "user", content = prompt } },
        };
        if (maxTokens is { } m) body["max_tokens"] = m;
        return new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
    }

    public static HttpRequestMessage Chat(string model, bool stream, string prompt = "Say hello", int? maxTokens = null) =>
        new(HttpMethod.Post, "/v1/chat/completions") { Content = ChatBody(model, prompt, stream, maxTokens) };

    /// <summary>Sends with the master key and returns as soon as the headers arrive (the body can be streamed).</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>An admin call with the master key that must answer <paramref name="expect"/>; returns its JSON.</summary>
    public async Task<JsonElement> AdminAsync(HttpMethod method, string path, object? body = null, int expect = 200)
    {
        using var response = await Anonymous.SendAsync(Request(method, path, Key, body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expect, $"{method} {path}: expected {expect}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Creates a virtual key through the admin API; returns its id and secret.</summary>
    public async Task<(string Id, string Secret)> CreateKeyAsync(object body)
    {
        var k = await AdminAsync(HttpMethod.Post, "/admin/keys", body, 201);
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    public async Task<JsonElement> DeploymentsAsync()
    {
        var json = await Http.GetStringAsync("/admin/deployments");
        return JsonDocument.Parse(json).RootElement.GetProperty("data");
    }

    public async Task<JsonElement> DeploymentAsync(string id) =>
        (await DeploymentsAsync()).EnumerateArray().Single(d => d.GetProperty("id").GetString() == id);

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> PostAsync(string path, object body)
    {
        var content = body is string s ? new StringContent(s, Encoding.UTF8, "application/json") : (HttpContent)JsonContent.Create(body);
        var response = await Http.PostAsync(path, content);
        return (response, await ReadJsonAsync(response));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> GetAsync(string path)
    {
        var response = await Http.GetAsync(path);
        return (response, await ReadJsonAsync(response));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> DeleteAsync(string path)
    {
        var response = await Http.DeleteAsync(path);
        return (response, await ReadJsonAsync(response));
    }

    /// <summary>A chat completion; returns the response, its answer text (non-streaming only) and the deployment header.</summary>
    public async Task<(HttpResponseMessage Response, string? Text, string? Deployment)> ChatAsync(string model, string prompt = "Say hello", bool stream = false)
    {
        var (response, body) = await PostAsync("/v1/chat/completions", new { model, stream, messages = new[] { new { role = "user", content = prompt } } });
        var text = stream ? null : body?["choices"]?[0]?["message"]?["content"]?.GetValue<string>();
        return (response, text, response.Get("x-sanjia-deployment"));
    }

    /// <summary>The body as JSON; a body that is not JSON comes back as a JSON string; an empty one as null.</summary>
    private static async Task<JsonNode?> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    /// <summary>
    /// The ledger once it holds at least <paramref name="expected"/> rows. A stream is metered when the server side
    /// finishes with it, which can be just after the client has read its last byte, hence the wait.
    /// </summary>
    public async Task<IReadOnlyList<LedgerEntry>> LedgerAsync(int expected = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await Service<JournaledLedger>().FlushAsync();
            var rows = await Service<ILedgerStore>().ReadAsync(DateTimeOffset.MinValue, 10_000, CancellationToken.None);
            if (rows.Count >= expected || DateTime.UtcNow > deadline)
            {
                return rows;
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Stops the gateway but keeps its data folder (for restart tests, with <see cref="StartInAsync"/>).</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        Http.Dispose();
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        DeleteDataDir(DataDir);
    }

    /// <summary>Deletes a test's data folder, tolerating a file still held open by a background flush (the OS temp cleaner gets it).</summary>
    public static void DeleteDataDir(string dataDir)
    {
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
