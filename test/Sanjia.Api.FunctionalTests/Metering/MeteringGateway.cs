using System.Globalization;
using Microsoft.AspNetCore.Builder;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// The real gateway on 127.0.0.1:0 in front of a <see cref="FakeOpenAiServer"/>, with one alias <c>chat</c> →
/// <c>fake/gpt-test</c> priced by configuration (USD 1000 input, 250 cached input, 2000 output per million tokens:
/// large enough that a few requests exhaust a small budget).
/// </summary>
internal sealed class MeteringGateway : IAsyncDisposable
{
    public const string Master = "mk-Qz8v1Lr6pWx3Nd9Ts5Ye2Ub7";
    public const decimal InputPrice = 1000m, CachedPrice = 250m, OutputPrice = 2000m;

    private readonly WebApplication _app;

    private MeteringGateway(WebApplication app, string dataDir, string baseUrl)
    {
        _app = app;
        DataDir = dataDir;
        BaseUrl = baseUrl;
        Http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string DataDir { get; }
    public string BaseUrl { get; }
    public HttpClient Http { get; }
    public string DatabasePath => Path.Combine(DataDir, "sanjia.db");

    public static string NewDataDir() => Directory.CreateTempSubdirectory("sanjia-metering-").FullName;

    public static string[] Args(FakeOpenAiServer upstream, string dataDir, string masterKey = Master, string urls = "http://127.0.0.1:0")
    {
        var models = Directory.CreateDirectory(Path.Combine(dataDir, "models")).FullName;
        var p = "--Sanjia:Metering:Prices:fake/gpt-test:";
        return
        [
            $"--Sanjia:Urls={urls}", $"--Sanjia:DataDir={dataDir}", $"--Sanjia:MasterKey={masterKey}", $"--Sanjia:ModelsDir={models}",
            "--Sanjia:Local:Embeddings=false", "--Sanjia:PresetsFromEnvironment=false",
            $"--Sanjia:Providers:fake:BaseUrl={upstream.BaseUrl}", $"--Sanjia:Providers:fake:ApiKey={upstream.ApiKey}",
            "--Sanjia:Models:chat:Deployments:0:Provider=fake", "--Sanjia:Models:chat:Deployments:0:Model=gpt-test",
            $"{p}Currency=USD", $"{p}Input={InputPrice}", $"{p}CachedInput={CachedPrice}", $"{p}Output={OutputPrice}", $"{p}MaxOutputTokens=64",
        ];
    }

    public static async Task<MeteringGateway> StartAsync(FakeOpenAiServer upstream, string? dataDir = null, string masterKey = Master, params string[] extra)
    {
        dataDir ??= NewDataDir();
        var app = GatewayApp.Build([.. Args(upstream, dataDir, masterKey), .. extra]);
        await app.StartAsync();
        return new MeteringGateway(app, dataDir, GatewayApp.Addresses(app)[0]);
    }

    public HttpRequestMessage Request(HttpMethod method, string path, string? key, object? body = null)
    {
        var m = new HttpRequestMessage(method, path);
        if (key is not null) m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) m.Content = JsonContent.Create(body);
        return m;
    }

    public async Task<JsonElement> AdminAsync(HttpMethod method, string path, object? body = null, int expect = 200)
    {
        using var response = await Http.SendAsync(Request(method, path, Master, body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expect, $"{method} {path}: expected {expect}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<(string Id, string Secret)> CreateKeyAsync(object body)
    {
        var k = await AdminAsync(HttpMethod.Post, "/admin/keys", body, 201);
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    public static StringContent ChatBody(string prompt = "Say hello to the budget test", bool stream = false, int? maxTokens = 40) =>
        new(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["model"] = "chat",
            ["messages"] = new[] { new { role = "user", content = prompt } },
            ["stream"] = stream,
            ["max_tokens"] = maxTokens,
        }), Encoding.UTF8, "application/json");

    /// <summary>Sums ledger costs straight from SQLite, independently of the gateway's report code.</summary>
    public static Dictionary<string, decimal> LedgerTotals(string databasePath, string? keyId = null)
    {
        using var c = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT currency, cost FROM ledger WHERE cost IS NOT NULL" + (keyId is null ? "" : " AND key_id = $k");
        if (keyId is not null) cmd.Parameters.AddWithValue("$k", keyId);
        var totals = new Dictionary<string, decimal>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var cur = r.GetString(0);
            totals[cur] = totals.GetValueOrDefault(cur) + decimal.Parse(r.GetString(1), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return totals;
    }

    public static HashSet<string> LedgerRequestIds(string databasePath)
    {
        using var c = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT request_id FROM ledger";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
