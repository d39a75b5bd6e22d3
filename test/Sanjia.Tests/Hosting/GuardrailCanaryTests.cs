using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Otlp;
using Sanjia.Testing.Postgres;

namespace Sanjia.Tests.Hosting;

/// <summary>
/// Issue 20's canary: a secret sent through a redacting guardrail appears in no log, no database row and no telemetry.
/// The real executable runs with everything that keeps or emits traffic switched on: JSON console logs at Trace level
/// for every category, the body log, the response cache, a shadow copy of every request, OTLP traces and metrics to a
/// test collector (with content capture on, the strictest case), on SQLite and on PostgreSQL. It answers a complete
/// request, the same request again (a cache hit) and a stream, each restoring the secret to the caller; then the
/// process's whole output, every file of its data folder (SQLite databases, their WAL files, the ledger journal), a
/// <c>pg_dump</c> of its database and every export the collector received are searched for the secret.
/// </summary>
public sealed class GuardrailCanaryTests : IDisposable
{
    private const string MasterKey = "sk-master-guard-canary-5b8d2f";
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-guard-canary-").FullName;
    // An OpenAI-style key the secret.openai_key detector takes for one (20+ characters mixing cases and digits), new
    // each run, so nothing left over from another run can be found.
    private readonly string _canary = "sk-proj-Zq7" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant() + Guid.NewGuid().ToString("N")[..12];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public Task On_sqlite_the_canary_is_in_no_log_no_database_file_and_no_telemetry() => RunAsync(postgres: null);

    [SkippableFact]
    public async Task On_postgresql_the_canary_is_in_no_log_no_database_dump_and_no_telemetry()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
        var server = await PostgresServer.GetAsync();
        var name = $"sanjia_canary_{Guid.NewGuid():N}";
        await RunAsync((server, name, await server.CreateDatabaseAsync(name)));
    }

    private async Task RunAsync((PostgresServer Server, string Name, string ConnectionString)? postgres)
    {
        await using var vendor = await FakeOpenAiServer.StartAsync();
        await using var candidate = await FakeOpenAiServer.StartAsync();
        await using var collector = await OtlpReceiver.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        string[] args =
        [
            "--port", "0", "--data", "data",
            $"--Sanjia:MasterKey={MasterKey}", "--Sanjia:PresetsFromEnvironment=false", "--Sanjia:Local:Embeddings=false",
            $"--Sanjia:Providers:v:BaseUrl={vendor.BaseUrl}", $"--Sanjia:Providers:v:ApiKey={vendor.ApiKey}",
            $"--Sanjia:Providers:c:BaseUrl={candidate.BaseUrl}", $"--Sanjia:Providers:c:ApiKey={candidate.ApiKey}",
            "--Sanjia:Providers:c:EmbeddingModels:0=text-embedding-3-small",
            "--Sanjia:Models:chat:Deployments:0:Provider=v", "--Sanjia:Models:chat:Deployments:0:Model=m1",
            // The redacting guardrail, on every call of the alias.
            "--Sanjia:Guardrails:Policies:secrets:Rules:secret.openai_key=redact",
            "--Sanjia:Guardrails:Aliases:chat:0=secrets",
            // Everything that keeps or emits traffic.
            "--Sanjia:Logging:Bodies=true",
            "--Sanjia:Cache:Enabled=true",
            "--Sanjia:Shadow:chat:Candidate=c/m2", "--Sanjia:Shadow:chat:Fraction=1",
            "--Sanjia:Shadow:chat:EmbeddingModel=c/text-embedding-3-small",
            "--Sanjia:Telemetry:CaptureContent=true",
            "--Logging:Console:FormatterName=json",
            "--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft=Trace", "--Logging:LogLevel:System=Trace",
            "--Logging:LogLevel:Microsoft.AspNetCore=Trace", "--Logging:LogLevel:System.Net.Http=Trace",
            .. postgres is { } pg ? new[] { $"--Sanjia:Storage:Postgres={pg.ConnectionString}" } : [],
        ];
        await using var gateway = GatewayProcess.Start(_dir, environment, args);
        var url = await gateway.ListeningAsync();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);

        // The vendor answers with the placeholder it was sent; the caller gets the secret back, each time.
        var prompt = $"Rotate my key {_canary} tonight.";
        vendor.Enqueue(FakeBehavior.Reply("I will rotate [SECRET_1] tonight."));
        vendor.Enqueue(new FakeBehavior { Pieces = ["Rotating [SEC", "RET_1] now; ", "done soon."] });
        var (first, firstCache) = await ChatAsync(http, prompt, stream: false);
        var (again, againCache) = await ChatAsync(http, prompt, stream: false);
        var (streamed, _) = await ChatAsync(http, prompt + " Stream it.", stream: true);
        Assert.Equal(($"I will rotate {_canary} tonight.", "miss"), (first, firstCache));
        Assert.Equal(($"I will rotate {_canary} tonight.", "hit"), (again, againCache));
        Assert.Contains($"Rotating {_canary} now; done soon.", streamed, StringComparison.Ordinal);
        // The vendor was sent the placeholder, never the secret.
        Assert.Equal(2, vendor.Requests.Count);
        Assert.All(vendor.Requests, r => Assert.Contains("[SECRET_1]", r.BodyText, StringComparison.Ordinal));

        // Wait for the side paths to have done their work, so that the search below has something to search.
        await WaitForAsync(http, "/admin/shadow/chat", s => s.GetProperty("counters").GetProperty("completed").GetInt64() >= 2);
        var logged = await WaitForAsync(http, "/admin/requests?bodies=true&status=200",
            s => s.GetProperty("data").EnumerateArray().Count(r => r.GetProperty("body").ValueKind == JsonValueKind.Object) >= 2);
        Assert.Contains("[SECRET_1]", logged.GetRawText(), StringComparison.Ordinal); // the body log holds the redacted text
        await collector.WaitForAsync("/v1/traces", "sanjia.guardrail.rules");
        Assert.All(candidate.Requests.Where(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)),
            r => Assert.Contains("[SECRET_1]", r.BodyText, StringComparison.Ordinal));

        gateway.Terminate();
        Assert.Equal(0, await gateway.WaitForExitAsync());

        // Logs: the whole console output, Trace level, JSON.
        var output = gateway.Output;
        Assert.Contains("\"Category\":\"Sanjia.Guardrails\"", output.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        AssertAbsent("the console output", Encoding.UTF8.GetBytes(output));
        // Databases and journals: every file of the data folder as bytes (SQLite files, their WAL, the journal).
        var files = Directory.GetFiles(Path.Combine(_dir, "data"), "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var contents = new List<byte[]>();
        foreach (var file in files)
        {
            contents.Add(await File.ReadAllBytesAsync(file));
            AssertAbsent(file, contents[^1]);
        }
        // The search reaches what was stored: on SQLite the body log and shadow pairs hold the redacted prompt.
        if (postgres is null) Assert.Contains(contents, c => c.AsSpan().IndexOf("[SECRET_1]"u8) >= 0);
        // PostgreSQL: everything in the database, as pg_dump writes it.
        if (postgres is { } db)
        {
            var dump = await PgDumpAsync(db.Server, db.Name);
            Assert.Contains("[SECRET_1]", dump, StringComparison.Ordinal); // the body log and shadow pairs are in it
            AssertAbsent("the PostgreSQL dump", Encoding.UTF8.GetBytes(dump));
        }
        // Telemetry: every trace and metric export the collector received (the meter exports once more at shutdown).
        Assert.Contains(collector.Received, r => r.Path == "/v1/metrics");
        foreach (var (path, _, body) in collector.Received) AssertAbsent("an OTLP export to " + path, body);
        // Content capture is on: the spans carry the prompt, redacted.
        Assert.Contains(collector.Received, r => r.Path == "/v1/traces" && r.Body.AsSpan().IndexOf("[SECRET_1]"u8) >= 0);
    }

    /// <summary>Neither the canary nor its last 16 characters, in UTF-8 or UTF-16 (SQLite can store either).</summary>
    private void AssertAbsent(string where, byte[] bytes)
    {
        foreach (var text in new[] { _canary, _canary[^16..] })
        {
            foreach (var encoding in new Encoding[] { Encoding.UTF8, Encoding.Unicode })
            {
                Assert.True(bytes.AsSpan().IndexOf(encoding.GetBytes(text)) < 0, $"the canary ({encoding.WebName}) is in {where}");
            }
        }
    }

    private static async Task<(string Text, string? Cache)> ChatAsync(HttpClient http, string prompt, bool stream)
    {
        var body = JsonSerializer.Serialize(new { model = "chat", stream, temperature = 0, messages = new[] { new { role = "user", content = prompt } } });
        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var cache = response.Headers.TryGetValues("x-sanjia-cache", out var v) ? v.Single() : null;
        if (stream) return (StreamedText(text), cache);
        return (JsonDocument.Parse(text).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!, cache);
    }

    private static string StreamedText(string sse)
    {
        var text = new StringBuilder();
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal)) continue;
            var choices = JsonDocument.Parse(line[6..]).RootElement.GetProperty("choices");
            if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            {
                text.Append(c.GetString());
            }
        }
        return text.ToString();
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient http, string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var json = JsonDocument.Parse(await http.GetStringAsync(path)).RootElement.Clone();
            if (done(json)) return json;
            Assert.True(DateTime.UtcNow < deadline, $"{path} did not settle: {json}");
            await Task.Delay(100);
        }
    }

    private static async Task<string> PgDumpAsync(PostgresServer server, string database)
    {
        var info = new ProcessStartInfo(Path.Combine(PostgresServer.FindBinaries()!, "pg_dump"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", "-d", database }) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, "pg_dump failed: " + await stderr);
        return await stdout;
    }
}
