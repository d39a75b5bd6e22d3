using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Testing.Nginx;
using Sanjia.Testing.Postgres;
using Sanjia.Testing.Redis;

namespace Sanjia.Bench.Load;

public sealed record ScaleOptions(string Repo, string OutDir, int Repeats, double Seconds, int[] Concurrency, int Revocations, string? Note, int ProfileSeconds = 0);

/// <summary>
/// The scale-out run (issue 16 point 7): the gateway on PostgreSQL + Redis beside the default SQLite one, both
/// serving a virtual key with a budget and RPM/TPM limits (so every request is admitted through Redis in the first
/// and in memory in the second), measured as interleaved pairs; the CPU of PostgreSQL and Redis per request; how fast
/// a revocation through one instance reaches another; and throughput through nginx (the repository's
/// deploy/nginx/sanjia.conf) in front of one instance and in front of three. Gateways and nginx on CPU 0; wrk, the
/// fake vendor, PostgreSQL and Redis on CPU 1.
/// </summary>
public static class Scale
{
    private const int ServerCpu = 0;
    private const int ClientCpu = 1;

    private sealed class Side(string name, int pid, string url, string script)
    {
        public string Name { get; } = name;
        public int Pid { get; } = pid;
        public string Url { get; } = url;
        public string Script { get; } = script;
        public Dictionary<int, List<(double Rps, double P99, double GatewayUs, double PostgresUs, double RedisUs, long Errors)>> Runs { get; } = [];
    }

    public static async Task<int> RunAsync(ScaleOptions o)
    {
        var work = Directory.CreateTempSubdirectory("sanjia-scale-").FullName;
        var gatewayDll = Path.Combine(o.Repo, "src/Sanjia/bin/Release/net10.0/sanjia.dll");
        var upstreamDll = Path.Combine(o.Repo, "bench/Sanjia.Bench.Upstream/bin/Release/net10.0/Sanjia.Bench.Upstream.dll");
        foreach (var f in new[] { gatewayDll, upstreamDll })
        {
            if (!File.Exists(f)) throw new FileNotFoundException("Build Release first (bench/load/scale.sh does).", f);
        }
        if (o.ProfileSeconds > 0)
        {
            // perf resolves JIT-compiled frames through the runtime's map files (the children inherit these).
            Environment.SetEnvironmentVariable("DOTNET_PerfMapEnabled", "1");
            Environment.SetEnvironmentVariable("DOTNET_EnableWriteXorExecute", "0");
        }
        var loadBefore = Load();
        Console.WriteLine($"work dir {work}; load {loadBefore}");

        var upPort = Proc.FreePort();
        using var upstream = Child.Start("dotnet", [upstreamDll, "--port", Suite.Inv(upPort)], Path.Combine(work, "upstream.log"), ClientCpu);
        var pg = await PostgresServer.StartDedicatedAsync();
        var database = await pg.CreateDatabaseAsync("sanjia_scale");
        await using var redis = await RedisServer.StartAsync();
        var pgPid = Proc.FindByCommandLine("postgres", $"-p {pg.Port.ToString(CultureInfo.InvariantCulture)}") ?? throw new InvalidOperationException("the postmaster was not found");
        var redisPid = Proc.FindByCommandLine("redis-server", $":{redis.Port.ToString(CultureInfo.InvariantCulture)}") ?? throw new InvalidOperationException("redis-server was not found");
        Proc.Pin(pgPid, ClientCpu);
        Proc.Pin(redisPid, ClientCpu);

        string[] Priced() =>
        [
            "--Sanjia:Metering:Prices:bench/fake:Currency=USD", "--Sanjia:Metering:Prices:bench/fake:Input=0.15", "--Sanjia:Metering:Prices:bench/fake:Output=0.6",
            "--Sanjia:Metering:Prices:bench/fake:MaxOutputTokens=64",
        ];
        Child StartGateway(string name, IEnumerable<string> extra, out int port, out string url)
        {
            port = Proc.FreePort();
            url = $"http://127.0.0.1:{port}";
            var dir = Directory.CreateDirectory(Path.Combine(work, name)).FullName;
            return Child.Start("dotnet", [.. Gateway.Arguments(gatewayDll, port, Path.Combine(dir, "data"), Directory.CreateDirectory(Path.Combine(dir, "models")).FullName, $"http://127.0.0.1:{upPort}", null), .. Priced(), .. extra],
                Path.Combine(work, name + ".log"), ServerCpu, dir);
        }
        string[] shared = [$"--Sanjia:Storage:Postgres={database}", $"--Sanjia:Redis:Configuration={redis.Configuration}"];
        using var sqlite = StartGateway("sqlite", [], out _, out var sqliteUrl);
        using var pg1 = StartGateway("pg1", shared, out var pg1Port, out var pg1Url);
        using var pg2 = StartGateway("pg2", shared, out var pg2Port, out var pg2Url);
        using var pg3 = StartGateway("pg3", shared, out var pg3Port, out var pg3Url);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var (child, url) in new[] { (sqlite, sqliteUrl), (pg1, pg1Url), (pg2, pg2Url), (pg3, pg3Url) })
        {
            if (!await Gateway.WaitForChatAsync(http, url, "fast", TimeSpan.FromSeconds(60), child)) throw new InvalidOperationException($"a gateway did not answer; see {child.Log}");
        }

        // The same key on both sides: a budget far above what the run spends and limits far above its rate, so every
        // request is admitted, each through the budget and the RPM/TPM checks.
        var keyBody = new { name = "bench", budget = new { amount = 1_000_000, currency = "USD", period = "monthly" }, rpm_limit = 100_000_000, tpm_limit = 1_000_000_000 };
        var sqliteKey = (await CreateKeyAsync(http, sqliteUrl, keyBody)).Secret;
        var pgKey = (await CreateKeyAsync(http, pg1Url, keyBody)).Secret;
        var body = Encoding.UTF8.GetString(Gateway.ChatBody("fast"));
        var sides = new[]
        {
            new Side("SQLite", sqlite.Pid, sqliteUrl, Wrk.WriteScript(Directory.CreateDirectory(Path.Combine(work, "wrk-sqlite")).FullName, body, sqliteKey)),
            new Side("PostgreSQL + Redis", pg1.Pid, pg1Url, Wrk.WriteScript(Directory.CreateDirectory(Path.Combine(work, "wrk-pg")).FullName, body, pgKey)),
        };
        foreach (var s in sides)
        {
            if (!await Gateway.WaitForChatAsync(http, s.Url, "fast", TimeSpan.FromSeconds(30))) throw new InvalidOperationException($"{s.Name} does not serve");
        }

        // Two rounds: the runtime recompiles hot methods after 30 calls on a background thread, and the first round
        // also opens the PostgreSQL and Redis connections (a first repeat after one short round still ran 2-5x slower).
        Console.WriteLine("-- warm-up");
        for (var w = 0; w < 2; w++)
        {
            foreach (var s in sides) await Wrk.RunAsync(s.Url + "/v1/chat/completions", s.Script, 16, o.Seconds, ClientCpu);
        }
        if (o.ProfileSeconds > 0)
        {
            await ProfileAsync(sides.Select(s => (s.Name, s.Pid, s.Url, s.Script)), o.ProfileSeconds, work);
            await pg.StopAsync(); // the dedicated server is the run's own (Redis is disposed with its scope)
            return 0;
        }
        foreach (var c in o.Concurrency)
        {
            Console.WriteLine(F($"-- wrk non-streaming with a budgeted, rate-limited key, c={c}"));
            for (var r = 0; r < o.Repeats; r++)
            {
                foreach (var s in sides)
                {
                    var (g0, p0, r0) = (Proc.CpuSeconds(s.Pid), Proc.CpuSeconds(pgPid), Proc.CpuSeconds(redisPid));
                    var w = await Wrk.RunAsync(s.Url + "/v1/chat/completions", s.Script, c, o.Seconds, ClientCpu);
                    // The ledger's batches reach PostgreSQL a moment after the last response: let them land before reading its CPU.
                    await Task.Delay(300);
                    var n = Math.Max(1, w.Requests);
                    var run = (w.RequestsPerSecond, w.P99Ms, (Proc.CpuSeconds(s.Pid) - g0) / n * 1e6, (Proc.CpuSeconds(pgPid) - p0) / n * 1e6, (Proc.CpuSeconds(redisPid) - r0) / n * 1e6, w.Errors);
                    if (!s.Runs.TryGetValue(c, out var runs)) s.Runs[c] = runs = [];
                    runs.Add(run);
                    Console.WriteLine(F($"   {s.Name,-20} {run.RequestsPerSecond,7:F0} req/s  p99 {run.P99Ms:F2} ms  gateway {run.Item3:F0} µs/req  PostgreSQL {run.Item4:F0} µs/req  Redis {run.Item5:F0} µs/req  errors {run.Errors}"));
                }
            }
        }

        Console.WriteLine(F($"-- revocation through one instance, seen by another ({o.Revocations} keys)"));
        var (created, revoked) = await PropagationAsync(http, pg1Url, pg2Url, o.Revocations);
        Console.WriteLine(F($"   created: p50 {Stats.Percentile(created, 50):F1} ms, p99 {Stats.Percentile(created, 99):F1} ms; revoked: p50 {Stats.Percentile(revoked, 50):F1} ms, p99 {Stats.Percentile(revoked, 99):F1} ms, max {revoked[^1]:F1} ms"));

        Console.WriteLine("-- nginx (deploy/nginx/sanjia.conf) in front of one instance and of three, c=64");
        await using var one = await NginxServer.StartAsync([pg1Port, pg1Port, pg1Port]);
        await using var three = await NginxServer.StartAsync([pg1Port, pg2Port, pg3Port]);
        var nginxPids = new[] { one, three }.Select(n => Proc.FindByCommandLine("nginx", n.Root) ?? throw new InvalidOperationException("nginx was not found")).ToArray();
        foreach (var pid in nginxPids) Proc.Pin(pid, ServerCpu);
        var fronts = new[] { ("one instance", one.Url, nginxPids[0]), ("three instances", three.Url, nginxPids[1]) };
        var gatewayPids = new[] { pg1.Pid, pg2.Pid, pg3.Pid };
        var pgScript = sides[1].Script;
        foreach (var (_, url, _) in fronts) await Wrk.RunAsync(url + "/v1/chat/completions", pgScript, 64, 2, ClientCpu);
        var scaleRuns = fronts.ToDictionary(f => f.Item1, _ => new List<(double Rps, double P99, double GatewaysUs, double NginxUs, long Errors)>());
        for (var r = 0; r < o.Repeats; r++)
        {
            foreach (var (name, url, nginxPid) in fronts)
            {
                var g0 = gatewayPids.Sum(Proc.CpuSeconds);
                var n0 = Proc.CpuSeconds(nginxPid);
                var w = await Wrk.RunAsync(url + "/v1/chat/completions", pgScript, 64, o.Seconds, ClientCpu);
                var n = Math.Max(1, w.Requests);
                var run = (w.RequestsPerSecond, w.P99Ms, (gatewayPids.Sum(Proc.CpuSeconds) - g0) / n * 1e6, (Proc.CpuSeconds(nginxPid) - n0) / n * 1e6, w.Errors);
                scaleRuns[name].Add(run);
                Console.WriteLine(F($"   {name,-16} {run.RequestsPerSecond,7:F0} req/s  p99 {run.P99Ms:F2} ms  gateways {run.Item3:F0} µs/req  nginx {run.Item4:F0} µs/req  errors {run.Errors}"));
            }
        }

        var report = BuildReport(o, sides, created, revoked, scaleRuns, loadBefore, Load());
        Directory.CreateDirectory(o.OutDir);
        var file = Path.Combine(o.OutDir, DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "-scale.md");
        await File.WriteAllTextAsync(file, report);
        Console.WriteLine();
        Console.WriteLine(report);
        Console.WriteLine($"written to {file}; logs in {work}");
        await pg.StopAsync();
        return 0;
    }

    private static async Task<(string Id, string Secret)> CreateKeyAsync(HttpClient http, string url, object body)
    {
        using var m = new HttpRequestMessage(HttpMethod.Post, url + "/admin/keys") { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.MasterKey);
        using var r = await http.SendAsync(m);
        var json = await r.Content.ReadAsStringAsync();
        if (r.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"POST /admin/keys answered {(int)r.StatusCode}: {json}");
        var k = JsonDocument.Parse(json).RootElement;
        return (k.GetProperty("id").GetString()!, k.GetProperty("key").GetString()!);
    }

    private static async Task<HttpStatusCode> ModelsAsync(HttpClient http, string url, string secret)
    {
        using var m = new HttpRequestMessage(HttpMethod.Get, url + "/v1/models");
        m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var r = await http.SendAsync(m);
        return r.StatusCode;
    }

    /// <summary>
    /// Keys created and then revoked through instance A; for each, the time from sending the admin request to A until
    /// instance B first answers accordingly (<c>GET /v1/models</c> with the key, polled back to back: each poll is a
    /// loopback round trip of well under a millisecond, the resolution of these figures). Sorted, in ms.
    /// </summary>
    private static async Task<(List<double> Created, List<double> Revoked)> PropagationAsync(HttpClient http, string a, string b, int count)
    {
        var created = new List<double>(count);
        var revoked = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            var (id, secret) = await CreateKeyAsync(http, a, new { name = $"propagation-{i}" });
            created.Add(await UntilAsync(http, b, secret, HttpStatusCode.OK, watch));
            using var m = new HttpRequestMessage(HttpMethod.Delete, $"{a}/admin/keys/{id}");
            m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Gateway.MasterKey);
            watch.Restart();
            using (var r = await http.SendAsync(m)) r.EnsureSuccessStatusCode();
            revoked.Add(await UntilAsync(http, b, secret, HttpStatusCode.Unauthorized, watch));
        }
        created.Sort();
        revoked.Sort();
        return (created, revoked);
    }

    private static async Task<double> UntilAsync(HttpClient http, string url, string secret, HttpStatusCode status, Stopwatch since)
    {
        while (await ModelsAsync(http, url, secret) != status)
        {
            if (since.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"{url} did not answer {status} within 30 s");
        }
        return since.Elapsed.TotalMilliseconds;
    }

    private static string BuildReport(ScaleOptions o, Side[] sides, List<double> created, List<double> revoked,
        Dictionary<string, List<(double Rps, double P99, double GatewaysUs, double NginxUs, long Errors)>> scale, string loadBefore, string loadAfter)
    {
        var sb = new StringBuilder();
        sb.AppendLine(F($"# Scale-out run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        sb.AppendLine();
        sb.AppendLine(F($"Command: `bench/load/scale.sh` ({o.Repeats} interleaved repeats × {o.Seconds} s per point, median shown). Machine: {Proc.MachineCpus} CPUs; gateways and nginx on CPU 0, wrk, the fake vendor, PostgreSQL (fsync off) and Redis on CPU 1."));
        sb.AppendLine();
        sb.AppendLine($"Load before: `{loadBefore}`  ");
        sb.AppendLine($"Load after: `{loadAfter}`");
        if (o.Note is not null) { sb.AppendLine(); sb.AppendLine(o.Note); }
        sb.AppendLine();
        sb.AppendLine("## A budgeted, rate-limited key: SQLite (in-memory budgets and limits) against PostgreSQL + Redis");
        sb.AppendLine();
        sb.AppendLine("| figure | " + string.Join(" | ", sides.Select(s => s.Name)) + " | difference |");
        sb.AppendLine("|---|" + string.Concat(sides.Select(_ => "---:|")) + "---:|");
        foreach (var c in o.Concurrency)
        {
            double M(Side s, Func<(double Rps, double P99, double GatewayUs, double PostgresUs, double RedisUs, long Errors), double> f) => Stats.Median(s.Runs[c].Select(f));
            sb.AppendLine(F($"| requests/s, c={c} | {M(sides[0], r => r.Rps):F0} | {M(sides[1], r => r.Rps):F0} | {M(sides[1], r => r.Rps) / M(sides[0], r => r.Rps):F2}x |"));
            sb.AppendLine(F($"| latency p99 ms, c={c} | {M(sides[0], r => r.P99):F2} | {M(sides[1], r => r.P99):F2} | |"));
            // The difference per repeat (each pair measured back to back), then its median: steadier than a difference of medians.
            var diff = Stats.Median(sides[0].Runs[c].Zip(sides[1].Runs[c], (x, y) => y.GatewayUs - x.GatewayUs));
            sb.AppendLine(F($"| gateway CPU µs/request, c={c} | {M(sides[0], r => r.GatewayUs):F0} | {M(sides[1], r => r.GatewayUs):F0} | {diff:+0;-0} µs (median of the pairs) |"));
            sb.AppendLine(F($"| PostgreSQL CPU µs/request, c={c} | | {M(sides[1], r => r.PostgresUs):F0} | |"));
            sb.AppendLine(F($"| Redis CPU µs/request, c={c} | | {M(sides[1], r => r.RedisUs):F0} | |"));
            sb.AppendLine(F($"| errors, c={c} | {sides[0].Runs[c].Sum(r => r.Errors)} | {sides[1].Runs[c].Sum(r => r.Errors)} | |"));
        }
        sb.AppendLine();
        sb.AppendLine(F($"## A revocation through one instance, seen by another ({created.Count} keys)"));
        sb.AppendLine();
        sb.AppendLine("From sending the admin request to instance A until instance B answers accordingly (`GET /v1/models` with the key, polled back to back).");
        sb.AppendLine();
        sb.AppendLine("| | p50 ms | p99 ms | max ms |");
        sb.AppendLine("|---|---:|---:|---:|");
        sb.AppendLine(F($"| key created | {Stats.Percentile(created, 50):F1} | {Stats.Percentile(created, 99):F1} | {created[^1]:F1} |"));
        sb.AppendLine(F($"| key revoked | {Stats.Percentile(revoked, 50):F1} | {Stats.Percentile(revoked, 99):F1} | {revoked[^1]:F1} |"));
        sb.AppendLine();
        sb.AppendLine("## Through nginx (deploy/nginx/sanjia.conf), c=64, the same key: one instance against three");
        sb.AppendLine();
        sb.AppendLine("All on the same CPU 0 (2 cores in all): three instances share what one had, so this shows their overhead, not a speed-up.");
        sb.AppendLine();
        sb.AppendLine("| | requests/s | latency p99 ms | gateways' CPU µs/request | nginx CPU µs/request | errors |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, runs) in scale)
        {
            sb.AppendLine(F($"| {name} | {Stats.Median(runs.Select(r => r.Rps)):F0} | {Stats.Median(runs.Select(r => r.P99)):F2} | {Stats.Median(runs.Select(r => r.GatewaysUs)):F0} | {Stats.Median(runs.Select(r => r.NginxUs)):F0} | {runs.Sum(r => r.Errors)} |"));
        }
        return sb.ToString();
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Load() => File.ReadAllText("/proc/loadavg").Trim();

    /// <summary>
    /// <c>--profile N</c>: each side under wrk at c=16 while perf samples its gateway for N seconds (999 Hz, call
    /// graphs); prints the data file and the requests completed, for bench/profile's areas or perf report.
    /// </summary>
    private static async Task ProfileAsync(IEnumerable<(string Name, int Pid, string Url, string Script)> sides, int seconds, string work)
    {
        foreach (var (name, pid, url, script) in sides)
        {
            var data = Path.Combine(work, (name.StartsWith("SQLite", StringComparison.Ordinal) ? "sqlite" : "pg") + ".perf.data");
            var load = Wrk.RunAsync(url + "/v1/chat/completions", script, 16, seconds + 4, ClientCpu);
            await Task.Delay(2000);
            using (var perf = Process.Start("perf", ["record", "-F", "999", "-g", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", data, "--", "sleep", seconds.ToString(CultureInfo.InvariantCulture)]))
            {
                await perf.WaitForExitAsync();
            }
            var w = await load;
            Console.WriteLine(F($"profile {name}: {data} pid {pid}, {w.RequestsPerSecond:F0} req/s over the run ({w.Requests} requests in {seconds + 4} s)"));
        }
    }
}
