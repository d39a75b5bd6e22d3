using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using Sanjia.Abstractions;
using Sanjia.Core.Metering;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Infrastructure;

/// <summary>
/// The real gateway (the same composition root the CLI uses) on a real socket at 127.0.0.1:&lt;free port&gt;, with
/// its own data folder and master key. Configuration is given as <c>Sanjia:*</c> keys, as a user would.
/// </summary>
public sealed class GatewayServer : IAsyncDisposable
{
    public const string MasterKey = "sk-test-master-key-0123456789";

    private GatewayServer(WebApplication app, string dataDir)
    {
        App = app;
        DataDir = dataDir;
        BaseUrl = GatewayApp.Addresses(app).First().TrimEnd('/');
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        Anonymous = new HttpClient { BaseAddress = new Uri(BaseUrl) };
    }

    public WebApplication App { get; }
    public string DataDir { get; }
    public string BaseUrl { get; }
    /// <summary>Sends the master key.</summary>
    public HttpClient Http { get; }
    /// <summary>Sends no key.</summary>
    public HttpClient Anonymous { get; }

    /// <param name="settings">Extra <c>Sanjia:*</c> settings (key without the section, e.g. <c>Providers:fake:BaseUrl</c>).</param>
    public static async Task<GatewayServer> StartAsync(IEnumerable<KeyValuePair<string, string>>? settings = null)
    {
        var dataDir = Directory.CreateTempSubdirectory("sanjia-test-").FullName;
        var modelsDir = Directory.CreateDirectory(Path.Combine(dataDir, "models")).FullName;
        var args = new List<string>
        {
            "--Sanjia:Urls=http://127.0.0.1:0",
            $"--Sanjia:DataDir={dataDir}",
            $"--Sanjia:MasterKey={MasterKey}",
            $"--Sanjia:ModelsDir={modelsDir}",
            "--Sanjia:PresetsFromEnvironment=false",
            "--Sanjia:Local:Embeddings=false",
            "--Logging:LogLevel:Default=Warning",
        };
        foreach (var (k, v) in settings ?? [])
        {
            args.Add($"--Sanjia:{k}={v}");
        }
        var app = GatewayApp.Build([.. args]);
        await app.StartAsync();
        return new GatewayServer(app, dataDir);
    }

    /// <summary>Settings that put a fake vendor behind the gateway as provider <paramref name="name"/>.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Upstream(FakeOpenAiServer upstream, string name = "fake")
    {
        yield return new($"Providers:{name}:BaseUrl", upstream.BaseUrl);
        yield return new($"Providers:{name}:ApiKey", upstream.ApiKey);
        yield return new($"Providers:{name}:Models:0", "gpt-4o-mini");
        yield return new($"Providers:{name}:EmbeddingModels:0", "text-embedding-3-small");
    }

    public OpenAIClient OpenAi(string? key = null, int retries = 0) => new(
        new ApiKeyCredential(key ?? MasterKey),
        new OpenAIClientOptions { Endpoint = new Uri(BaseUrl + "/v1"), RetryPolicy = new ClientRetryPolicy(retries), NetworkTimeout = TimeSpan.FromSeconds(60) });

    /// <summary>
    /// The ledger once it holds at least <paramref name="expected"/> rows. A stream is metered when the server side
    /// finishes with it, which can be just after the client has read its last byte, hence the wait.
    /// </summary>
    public async Task<IReadOnlyList<LedgerEntry>> LedgerAsync(int expected = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await App.Services.GetRequiredService<JournaledLedger>().FlushAsync();
            var rows = await App.Services.GetRequiredService<ILedgerStore>().ReadAsync(DateTimeOffset.MinValue, 10_000, CancellationToken.None);
            if (rows.Count >= expected || DateTime.UtcNow > deadline)
            {
                return rows;
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a background flush; the OS temp cleaner gets it.
        }
    }
}
