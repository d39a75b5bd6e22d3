using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Hosting;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>
/// The real gateway over a real socket with a data folder the test owns, so a test can stop it and start it again on
/// the same state (promotions, prompts, logs must survive a restart).
/// </summary>
public sealed class CompareGateway : IAsyncDisposable
{
    public const string MasterKey = "sk-compare-master-key-0123456789";

    private CompareGateway(WebApplication app, string root)
    {
        App = app;
        Root = root;
        BaseUrl = GatewayApp.Addresses(app)[0].TrimEnd('/');
        Client = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(120) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
    }

    public WebApplication App { get; }
    public string Root { get; }
    public string BaseUrl { get; }
    public HttpClient Client { get; }
    public string DataDir => Path.Combine(Root, "data");

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public static string NewRoot() => Directory.CreateTempSubdirectory("sanjia-compare-").FullName;

    public static async Task<CompareGateway> StartAsync(string root, params string[] settings)
    {
        Directory.CreateDirectory(Path.Combine(root, "models"));
        string[] args =
        [
            "--Sanjia:Urls=http://127.0.0.1:0",
            $"--Sanjia:DataDir={Path.Combine(root, "data")}",
            $"--Sanjia:MasterKey={MasterKey}",
            $"--Sanjia:ModelsDir={Path.Combine(root, "models")}",
            "--Sanjia:Local:Embeddings=false",
            "--Sanjia:PresetsFromEnvironment=false",
            "--Logging:LogLevel:Default=Warning",
            .. settings,
        ];
        var app = GatewayApp.Build(args);
        await app.StartAsync();
        return new CompareGateway(app, root);
    }

    public static IEnumerable<string> Provider(string name, string baseUrl, string apiKey) =>
        [$"--Sanjia:Providers:{name}:BaseUrl={baseUrl}", $"--Sanjia:Providers:{name}:ApiKey={apiKey}"];

    public static IEnumerable<string> Deployment(string alias, int index, string provider, string model) =>
        [$"--Sanjia:Models:{alias}:Deployments:{index}:Provider={provider}", $"--Sanjia:Models:{alias}:Deployments:{index}:Model={model}"];

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> PostAsync(string path, object body)
    {
        var content = body is string s ? new StringContent(s, Encoding.UTF8, "application/json") : (HttpContent)JsonContent.Create(body);
        var response = await Client.PostAsync(path, content);
        return (response, await ReadAsync(response));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> GetAsync(string path)
    {
        var response = await Client.GetAsync(path);
        return (response, await ReadAsync(response));
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> DeleteAsync(string path)
    {
        var response = await Client.DeleteAsync(path);
        return (response, await ReadAsync(response));
    }

    /// <summary>A non-streaming chat completion; returns the response, its answer text and the deployment header.</summary>
    public async Task<(HttpResponseMessage Response, string? Text, string? Deployment)> ChatAsync(string model, string prompt = "Say hello", bool stream = false)
    {
        var (response, body) = await PostAsync("/v1/chat/completions", new { model, stream, messages = new[] { new { role = "user", content = prompt } } });
        var text = stream ? null : body?["choices"]?[0]?["message"]?["content"]?.GetValue<string>();
        return (response, text, response.Headers.TryGetValues("x-sanjia-deployment", out var d) ? d.First() : null);
    }

    private static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
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

    /// <summary>Stops the gateway but keeps its data folder (for restart tests).</summary>
    public async Task StopAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Delete(Root);
    }

    public static void Delete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a background flush; the OS temp cleaner gets it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
