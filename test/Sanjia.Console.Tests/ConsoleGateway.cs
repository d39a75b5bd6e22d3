using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Abstractions;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Console.Tests;

/// <summary>
/// The real gateway on a loopback port with three fake vendors behind it: <c>good</c> (priced in USD as alias
/// <c>chat</c> and as <c>cached</c> with the response cache on, in CNY as alias <c>qwen</c>, unpriced as alias <c>free</c>)
/// and <c>bad</c> (every call a 500, alias <c>broken</c>); <c>guarded</c> has a guardrail policy; budget alerts are
/// checked every 0.2 s. The traffic the browser tests look at is sent through it by <see cref="SendTrafficAsync"/>.
/// </summary>
public sealed class ConsoleGateway : IAsyncDisposable
{
    public const string MasterKey = "sk-console-test-master-key-0123456789";

    private readonly WebApplication _app;
    private readonly FakeOpenAiServer _good, _bad;
    private readonly string _dataDir;

    private ConsoleGateway(WebApplication app, FakeOpenAiServer good, FakeOpenAiServer bad, string dataDir)
    {
        _app = app;
        _good = good;
        _bad = bad;
        _dataDir = dataDir;
        BaseUrl = GatewayApp.Addresses(app).First().TrimEnd('/');
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
    }

    public string BaseUrl { get; }
    /// <summary>Sends the master key.</summary>
    public HttpClient Http { get; }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public static async Task<ConsoleGateway> StartAsync()
    {
        var good = await FakeOpenAiServer.StartAsync();
        var bad = await FakeOpenAiServer.StartAsync();
        bad.SetDefault(FakeBehavior.Status(500, "vendor down"));
        var dataDir = Directory.CreateTempSubdirectory("sanjia-console-").FullName;
        var models = Directory.CreateDirectory(Path.Combine(dataDir, "models")).FullName;
        string[] args =
        [
            "--Sanjia:Urls=http://127.0.0.1:0", $"--Sanjia:DataDir={dataDir}", $"--Sanjia:MasterKey={MasterKey}", $"--Sanjia:ModelsDir={models}",
            "--Sanjia:PresetsFromEnvironment=false", "--Sanjia:Local:Embeddings=false", "--Logging:LogLevel:Default=Warning",
            $"--Sanjia:Providers:good:BaseUrl={good.BaseUrl}", $"--Sanjia:Providers:good:ApiKey={good.ApiKey}",
            $"--Sanjia:Providers:cn:BaseUrl={good.BaseUrl}", $"--Sanjia:Providers:cn:ApiKey={good.ApiKey}",
            $"--Sanjia:Providers:bad:BaseUrl={bad.BaseUrl}", $"--Sanjia:Providers:bad:ApiKey={bad.ApiKey}",
            "--Sanjia:Models:chat:Deployments:0:Provider=good", "--Sanjia:Models:chat:Deployments:0:Model=gpt-4o-mini",
            "--Sanjia:Models:qwen:Deployments:0:Provider=cn", "--Sanjia:Models:qwen:Deployments:0:Model=gpt-4o-mini",
            "--Sanjia:Models:free:Deployments:0:Provider=good", "--Sanjia:Models:free:Deployments:0:Model=gpt-4o",
            "--Sanjia:Models:broken:Deployments:0:Provider=bad", "--Sanjia:Models:broken:Deployments:0:Model=gpt-4o-mini",
            "--Sanjia:Metering:Prices:good/gpt-4o-mini:Currency=USD", "--Sanjia:Metering:Prices:good/gpt-4o-mini:Input=100", "--Sanjia:Metering:Prices:good/gpt-4o-mini:Output=200",
            "--Sanjia:Metering:Prices:cn/gpt-4o-mini:Currency=CNY", "--Sanjia:Metering:Prices:cn/gpt-4o-mini:Input=700", "--Sanjia:Metering:Prices:cn/gpt-4o-mini:Output=1400",
            "--Sanjia:Routing:Retry:MaxAttempts=1",
            // The response cache on one alias of its own (answers of any temperature), so the other aliases' traffic is as before.
            "--Sanjia:Models:cached:Deployments:0:Provider=good", "--Sanjia:Models:cached:Deployments:0:Model=gpt-4o-mini",
            "--Sanjia:Models:cached:Cache:Enabled=true", "--Sanjia:Models:cached:Cache:AnyTemperature=true",
            "--Sanjia:Alerts:IntervalSeconds=0.2",
            // A guardrail policy on one alias of its own: e-mail addresses redacted, a deny keyword blocked.
            "--Sanjia:Models:guarded:Deployments:0:Provider=good", "--Sanjia:Models:guarded:Deployments:0:Model=gpt-4o-mini",
            "--Sanjia:Guardrails:Policies:console-pii:Rules:pii.email=redact", "--Sanjia:Guardrails:Policies:console-pii:Rules:deny.keyword=block",
            "--Sanjia:Guardrails:Policies:console-pii:DenyKeywords:0=project falcon", "--Sanjia:Guardrails:Aliases:guarded:0=console-pii",
        ];
        var app = GatewayApp.Build(args);
        await app.StartAsync();
        return new ConsoleGateway(app, good, bad, dataDir);
    }

    public async Task<JsonElement> AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var m = new HttpRequestMessage(method, path);
        if (body is not null) m.Content = JsonContent.Create(body);
        using var r = await Http.SendAsync(m);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{method} {path}: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<(string Id, string Secret)> CreateKeyAsync(object body)
    {
        var k = await AdminAsync(HttpMethod.Post, "/admin/keys", body);
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    /// <summary>One chat completion with <paramref name="key"/>; returns the status.</summary>
    public async Task<int> ChatAsync(string key, string model, string prompt = "Say hello")
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions");
        m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        m.Content = new StringContent(JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = prompt } }, max_tokens = 20 }), Encoding.UTF8, "application/json");
        using var r = await Http.SendAsync(m);
        LastBody = await r.Content.ReadAsStringAsync();
        return (int)r.StatusCode;
    }

    /// <summary>The body of the last <see cref="ChatAsync"/> answer, for failure messages.</summary>
    public string LastBody { get; private set; } = "";

    /// <summary>Writes rows straight into the ledger store: traffic of past weeks for the trends.</summary>
    public Task BackdateAsync(IReadOnlyList<LedgerEntry> rows) => Service<ILedgerStore>().AppendAsync(rows, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _good.DisposeAsync();
        await _bad.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
