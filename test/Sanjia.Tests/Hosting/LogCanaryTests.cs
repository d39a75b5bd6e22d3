using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Tests.Hosting;

/// <summary>
/// The real executable with JSON console logs at Trace level for every category the configuration can open, a known
/// vendor key, master key and client key, and traffic that succeeds and fails in the ways that get logged. Then the
/// whole output is searched for the secrets (none may appear), and its log lines are read as an operator's log
/// pipeline would: JSON with a dated, zoned timestamp, and one access-log line per request.
/// </summary>
public sealed partial class LogCanaryTests : IDisposable
{
    private const string VendorKey = "sk-vendor-canary-4f1c2a9e7b3d";
    private const string MasterKey = "sk-master-canary-8e2d6b1f0a5c";
    private const string WrongKey = "sk-wrong-canary-3a7c9e1b5d2f";
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-canary-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task No_key_appears_in_any_log_line_and_each_request_has_one_json_access_line()
    {
        await using var vendor = await FakeOpenAiServer.StartAsync(new FakeServerOptions { ApiKey = VendorKey });
        await using var gateway = GatewayProcess.Start(_dir, "--port", "0", "--data", "data",
            $"--Sanjia:MasterKey={MasterKey}", "--Sanjia:PresetsFromEnvironment=false", "--Sanjia:Local:Embeddings=false",
            $"--Sanjia:Providers:v:BaseUrl={vendor.BaseUrl}", $"--Sanjia:Providers:v:ApiKey={VendorKey}",
            // A second provider with the same key and a base URL that refuses connections: the unreachable path logs too.
            $"--Sanjia:Providers:gone:BaseUrl={FakeOpenAiServer.GetUnreachableBaseUrl()}", $"--Sanjia:Providers:gone:ApiKey={VendorKey}",
            "--Sanjia:Models:chat:Deployments:0:Provider=gone", "--Sanjia:Models:chat:Deployments:0:Model=m0",
            "--Sanjia:Models:chat:Deployments:1:Provider=v", "--Sanjia:Models:chat:Deployments:1:Model=m1",
            "--Sanjia:Routing:Retry:MaxAttempts=2", "--Sanjia:Routing:Retry:BaseDelaySeconds=0.01", "--Sanjia:Routing:Retry:MaxDelaySeconds=0.05",
            "--Logging:Console:FormatterName=json",
            "--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft=Trace", "--Logging:LogLevel:System=Trace",
            "--Logging:LogLevel:Microsoft.AspNetCore=Trace", "--Logging:LogLevel:System.Net.Http=Trace");
        var url = await gateway.ListeningAsync();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };

        // A virtual key, made through the admin API: its secret is the client canary.
        var created = await SendAsync(http, HttpMethod.Post, "/admin/keys", MasterKey, """{"name":"canary"}""");
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var key = JsonDocument.Parse(created.Body).RootElement;
        var (clientKey, keyId) = (key.GetProperty("key").GetString()!, key.GetProperty("id").GetString()!);

        const string chat = """{"model":"chat","messages":[{"role":"user","content":"hi"}]}""";
        const string stream = """{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        var statuses = new List<HttpStatusCode>
        {
            (await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", clientKey, chat)).Status,
            (await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", clientKey, stream)).Status,
        };
        vendor.Enqueue(FakeBehavior.Status(401, "Incorrect API key provided: " + VendorKey));
        statuses.Add((await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", clientKey, chat)).Status);
        vendor.Enqueue(FakeBehavior.Status(500, "boom"));
        statuses.Add((await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", clientKey, chat)).Status);
        statuses.Add((await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", clientKey, """{"model":"nope","messages":[{"role":"user","content":"hi"}]}""")).Status);
        statuses.Add((await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", clientKey, "{not json")).Status);
        statuses.Add((await SendAsync(http, HttpMethod.Post, "/v1/chat/completions", WrongKey, chat)).Status);
        statuses.Add((await SendAsync(http, HttpMethod.Get, "/admin/keys", clientKey, null)).Status);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], statuses[..2]);
        Assert.All(statuses[2..], s => Assert.True((int)s >= 400, $"{s}"));

        gateway.Terminate();
        Assert.Equal(0, await gateway.WaitForExitAsync());
        var output = gateway.Output;

        foreach (var secret in new[] { VendorKey, MasterKey, clientKey, WrongKey })
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
            // Nor a long enough piece of it (a key cut for display is still a leak).
            Assert.DoesNotContain(secret[^16..], output, StringComparison.Ordinal);
        }

        var logs = output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(logs.Count > 10, $"only {logs.Count} JSON log lines:\n{output}");
        Assert.All(logs, l => Assert.Matches(IsoTimestamp(), l.GetProperty("Timestamp").GetString()!));
        // Trace level did open: the router's per-attempt Debug line is there.
        Assert.Contains(logs, l => l.GetProperty("LogLevel").GetString() == "Debug");

        var access = logs.Where(l => l.GetProperty("Category").GetString() == "Sanjia.AccessLog").Select(l => l.GetProperty("State")).ToList();
        // One per request that reached the engine: two answers, the vendor's 401, the 502, the unknown model.
        Assert.Equal(5, access.Count);
        Assert.All(access, a => Assert.Equal(keyId, Text(a, "KeyId")));
        Assert.All(access, a => Assert.StartsWith("req_", Text(a, "RequestId"), StringComparison.Ordinal));
        var answered = access.Where(a => Text(a, "Status") == "200").ToList();
        Assert.Equal(2, answered.Count);
        Assert.All(answered, a =>
        {
            Assert.Equal("chat", Text(a, "Model"));
            Assert.Equal("v/m1", Text(a, "Deployment"));
            Assert.Equal("2", Text(a, "Attempts"));
            Assert.True(int.Parse(Text(a, "OutputTokens"), System.Globalization.CultureInfo.InvariantCulture) > 0);
            Assert.True(double.Parse(Text(a, "LatencyMs"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        });
        Assert.Single(answered, a => Text(a, "TtftMs") is not "null" and var t && double.Parse(t, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains(access, a => Text(a, "Status") == "404" && Text(a, "ErrorCode") == "model_not_found");
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient http, HttpMethod method, string path, string key, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A value of the log line's state as text (the JSON formatter writes numbers as numbers).</summary>
    private static string Text(JsonElement state, string name)
    {
        var value = state.GetProperty(name);
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
    }

    /// <summary>A date, a time and a zone: <c>2026-12-06T09:30:00.123+00:00</c>.</summary>
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")]
    private static partial Regex IsoTimestamp();
}
