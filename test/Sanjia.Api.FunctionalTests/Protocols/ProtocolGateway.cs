using Microsoft.AspNetCore.Builder;
using Sanjia.Hosting;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>The real gateway on 127.0.0.1:0 with the given provider settings, torn down with its temp folders.</summary>
internal sealed class ProtocolGateway : IAsyncDisposable
{
    public const string MasterKey = "sk-protocols-test-master-key";
    private readonly WebApplication _app;
    private readonly string _dir;

    private ProtocolGateway(WebApplication app, string dir, string url)
    {
        _app = app;
        _dir = dir;
        Url = url;
    }

    public string Url { get; }

    public static async Task<ProtocolGateway> StartAsync(params string[] settings)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sanjia-protocols-" + Guid.NewGuid().ToString("N"));
        var models = Path.Combine(dir, "models");
        Directory.CreateDirectory(models);
        string[] args =
        [
            "--Sanjia:Urls=http://127.0.0.1:0",
            $"--Sanjia:DataDir={dir}",
            $"--Sanjia:MasterKey={MasterKey}",
            $"--Sanjia:ModelsDir={models}",
            "--Sanjia:Local:Embeddings=false",
            "--Sanjia:PresetsFromEnvironment=false",
            .. settings,
        ];
        var app = GatewayApp.Build(args);
        await app.StartAsync();
        return new ProtocolGateway(app, dir, GatewayApp.Addresses(app)[0].TrimEnd('/'));
    }

    /// <summary>Settings for an OpenAI-compatible provider named <paramref name="name"/>.</summary>
    public static string[] OpenAiProvider(string name, string baseUrl, string apiKey) =>
        [$"--Sanjia:Providers:{name}:BaseUrl={baseUrl}", $"--Sanjia:Providers:{name}:ApiKey={apiKey}"];

    public HttpClient CreateHttpClient(bool withKey = true)
    {
        var http = new HttpClient { BaseAddress = new Uri(Url + "/"), Timeout = TimeSpan.FromMinutes(2) };
        if (withKey) http.DefaultRequestHeaders.Add("x-api-key", MasterKey);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
