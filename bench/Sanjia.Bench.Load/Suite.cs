using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Sanjia.Bench.Load;

public sealed record SuiteOptions(string Repo, string OutDir, int Repeats, double Seconds, double StreamSeconds, int StreamRepeats, int ChunkDelayMs, string? ModelPath, int LocalRepeats, int LocalMaxTokens, string? Note, string? BaselineRepo = null, string? GatewayArgs = null, string? BaselineArgs = null);

/// <summary>
/// The whole load run: fake upstreams (one answering at once, one pacing stream chunks), nginx, the bare .NET proxy
/// and the gateway, measured side by side. Servers under test run on CPU 0; the fakes, wrk and this client on CPU 1.
/// </summary>
public static class Suite
{
    private const int ServerCpu = 0;
    private const int ClientCpu = 1;
    private static readonly int[] Concurrency = [1, 16, 64, 256];
    /// <summary>The bare .NET pass-through proxy (bench/Sanjia.Bench.Proxy): the platform's floor under the gateway.</summary>
    public const string BareProxy = "bare .NET";
    /// <summary>The same gateway built from another checkout (<c>--baseline DIR</c>): a change measured against its base in one run.</summary>
    public const string Baseline = "baseline";

    /// <summary>Extra gateway arguments given as one space-separated option (<c>--gateway-args</c>, <c>--baseline-args</c>).</summary>
    /// <summary>
    /// Extra gateway settings (<c>--Key=value</c>) and environment variables (<c>NAME=value</c>); <c>{upstream}</c>
    /// becomes the URL of the fake answering at once (also an OTLP/HTTP sink).
    /// </summary>
    private static string[] Split(string? args, string upstream) =>
        args?.Replace("{upstream}", upstream, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    /// <summary>Targets that are a Sanjia gateway (served aliases <c>fast</c>/<c>paced</c>), as opposed to the pass-through baselines.</summary>
    public static bool IsGateway(string name) => name is "gateway" or Baseline;

    public static async Task<int> RunAsync(SuiteOptions o)
    {
        var work = Directory.CreateTempSubdirectory("sanjia-bench-").FullName;
        var gatewayDll = Path.Combine(o.Repo, "src/Sanjia/bin/Release/net10.0/sanjia.dll");
        var upstreamDll = Path.Combine(o.Repo, "bench/Sanjia.Bench.Upstream/bin/Release/net10.0/Sanjia.Bench.Upstream.dll");
        var proxyDll = Path.Combine(o.Repo, "bench/Sanjia.Bench.Proxy/bin/Release/net10.0/Sanjia.Bench.Proxy.dll");
        var baselineDll = o.BaselineRepo is null ? null : Path.Combine(Path.GetFullPath(o.BaselineRepo), "src/Sanjia/bin/Release/net10.0/sanjia.dll");
        foreach (var f in new[] { gatewayDll, upstreamDll, proxyDll, baselineDll ?? gatewayDll })
        {
            if (!File.Exists(f)) throw new FileNotFoundException("Build Release first (bench/load/run.sh does).", f);
        }
        var uptimeBefore = Uptime();
        Console.WriteLine($"work dir {work}; taskset {(Proc.HasTaskset ? "on" : "off")}; load {uptimeBefore}");

        int upPort = Proc.FreePort(), pacedUpPort = Proc.FreePort(), nginxPort = Proc.FreePort(), nginxPacedPort = Proc.FreePort(), gwPort = Proc.FreePort();
        int proxyPort = Proc.FreePort(), proxyPacedPort = Proc.FreePort();
        using var upstream = Child.Start("dotnet", [upstreamDll, "--port", Inv(upPort)], Path.Combine(work, "upstream.log"), ClientCpu);
        using var paced = Child.Start("dotnet", [upstreamDll, "--port", Inv(pacedUpPort), "--chunk-delay-ms", Inv(o.ChunkDelayMs)], Path.Combine(work, "upstream-paced.log"), ClientCpu);
        using var nginx = Nginx.Start(work, nginxPort, upPort, nginxPacedPort, pacedUpPort, ServerCpu);
        using var proxy = Child.Start("dotnet", [proxyDll, "--listen", $"{proxyPort}=http://127.0.0.1:{upPort}", "--listen", $"{proxyPacedPort}=http://127.0.0.1:{pacedUpPort}"],
            Path.Combine(work, "proxy.log"), ServerCpu);
        var gwDir = Directory.CreateDirectory(Path.Combine(work, "gateway")).FullName;
        var gwModels = Directory.CreateDirectory(Path.Combine(gwDir, "models")).FullName;
        var (gwFile, gwArgs) = Gateway.Command(Gateway.Arguments(gatewayDll, gwPort, Path.Combine(gwDir, "data"), gwModels, $"http://127.0.0.1:{upPort}",
            $"http://127.0.0.1:{pacedUpPort}"), Split(o.GatewayArgs, $"http://127.0.0.1:{upPort}"));
        using var gateway = Child.Start(gwFile, gwArgs, Path.Combine(work, "gateway.log"), ServerCpu, gwDir);

        int baselinePort = Proc.FreePort();
        var baseDir = Directory.CreateDirectory(Path.Combine(work, "baseline")).FullName;
        var (baseFile, baseArgs) = baselineDll is null ? ("", []) : Gateway.Command(Gateway.Arguments(baselineDll, baselinePort, Path.Combine(baseDir, "data"),
            Directory.CreateDirectory(Path.Combine(baseDir, "models")).FullName, $"http://127.0.0.1:{upPort}", $"http://127.0.0.1:{pacedUpPort}"),
            Split(o.BaselineArgs, $"http://127.0.0.1:{upPort}"));
        using var baseline = baselineDll is null ? null : Child.Start(baseFile, baseArgs, Path.Combine(work, "baseline.log"), ServerCpu, baseDir);

        using var probe = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var targets = new[]
        {
            new Target("direct", upstream.Pid, $"http://127.0.0.1:{upPort}", $"http://127.0.0.1:{pacedUpPort}"),
            new Target("nginx", nginx.Pid, $"http://127.0.0.1:{nginxPort}", $"http://127.0.0.1:{nginxPacedPort}"),
            new Target(BareProxy, proxy.Pid, $"http://127.0.0.1:{proxyPort}", $"http://127.0.0.1:{proxyPacedPort}"),
            new Target("gateway", gateway.Pid, $"http://127.0.0.1:{gwPort}", $"http://127.0.0.1:{gwPort}"),
        };
        if (baseline is not null) targets = [.. targets, new Target(Baseline, baseline.Pid, $"http://127.0.0.1:{baselinePort}", $"http://127.0.0.1:{baselinePort}")];
        foreach (var t in targets)
        {
            var child = t.Name switch { "gateway" => gateway, Baseline => baseline!, "nginx" => nginx, BareProxy => proxy, _ => upstream };
            if (!await Gateway.WaitForChatAsync(probe, t.Url, "fast", TimeSpan.FromSeconds(30), child)) throw new InvalidOperationException($"{t.Name} did not answer; see {child.Log}");
            if (!await Gateway.WaitForChatAsync(probe, t.PacedUrl, IsGateway(t.Name) ? "paced" : "fast", TimeSpan.FromSeconds(30), child)) throw new InvalidOperationException($"{t.Name} (paced) did not answer");
        }
        await Task.Delay(1000);
        foreach (var t in targets) t.IdleRssMiB = Proc.Memory(t.Pid).Rss;

        // Each repeat measures the targets one after the other (interleaved rather than all repeats of one target,
        // then the next), so that a noisy minute on the shared machine hits them all alike.
        var script = Wrk.WriteScript(work, Encoding.UTF8.GetString(Gateway.ChatBody("fast")), Gateway.MasterKey);
        Console.WriteLine("-- wrk non-streaming (warm-up)");
        foreach (var t in targets)
        {
            await Wrk.RunAsync(t.Url + "/v1/chat/completions", script, 16, 1, ClientCpu);
        }
        foreach (var c in Concurrency)
        {
            Console.WriteLine(FormattableString.Invariant($"-- wrk non-streaming, c={c}"));
            for (var r = 0; r < o.Repeats; r++)
            {
                foreach (var t in targets)
                {
                    var cpu0 = Proc.CpuSeconds(t.Pid);
                    var w = await Wrk.RunAsync(t.Url + "/v1/chat/completions", script, c, o.Seconds, ClientCpu);
                    var cpu = Proc.CpuSeconds(t.Pid) - cpu0;
                    var run = new Run(w, cpu / Math.Max(1, w.Requests) * 1e6);
                    if (!t.Wrk.TryGetValue(c, out var runs)) t.Wrk[c] = runs = [];
                    runs.Add(run);
                    Console.WriteLine(FormattableString.Invariant($"   {t.Name,-8} {w.RequestsPerSecond,9:F0} req/s  p50 {w.P50Ms:F3} ms  p99 {w.P99Ms:F3} ms  cpu {run.CpuUsPerRequest:F0} us/req  errors {w.Errors}"));
                }
            }
            if (c == 256)
            {
                foreach (var t in targets) t.PeakRssMiB = Proc.Memory(t.Pid).Hwm;
            }
        }

        Console.WriteLine("-- streaming");
        for (var r = 0; r < o.StreamRepeats; r++)
        {
            foreach (var t in targets)
            {
                var model = IsGateway(t.Name) ? "paced" : "fast";
                var s16 = await StreamLoad.RunAsync(new StreamLoadOptions(new Uri(t.PacedUrl + "/v1/chat/completions"), Gateway.MasterKey, model, 16, TimeSpan.FromSeconds(o.StreamSeconds), null, TimeSpan.FromSeconds(r == 0 ? 1 : 0)));
                t.Stream16.Add(s16);
                Console.WriteLine($"   {t.Name,-8} c=16 paced ({o.ChunkDelayMs} ms): {s16.Describe()}");
                var cpu0 = Proc.CpuSeconds(t.Pid);
                var s64 = await StreamLoad.RunAsync(new StreamLoadOptions(new Uri(t.Url + "/v1/chat/completions"), Gateway.MasterKey, "fast", 64, TimeSpan.FromSeconds(o.StreamSeconds), null, TimeSpan.FromSeconds(r == 0 ? 1 : 0)));
                t.Stream64.Add(s64);
                if (r > 0)
                {
                    // CPU per stream from the server's own CPU time; the first repeat also runs warm-up streams.
                    t.Stream64CpuUs.Add((Proc.CpuSeconds(t.Pid) - cpu0) / Math.Max(1, s64.Streams) * 1e6);
                }
                Console.WriteLine($"   {t.Name,-8} c=64 at once: {s64.Describe()}");
            }
        }
        foreach (var t in targets) t.PeakRssAllMiB = Proc.Memory(t.Pid).Hwm;

        gateway.Dispose();
        baseline?.Dispose();
        nginx.Dispose();
        proxy.Dispose();
        Console.WriteLine("-- start-up");
        // Alternated with the baseline, each with its own extra settings, so both see the same minute of the machine.
        var startup = new List<double>();
        List<double>? baselineStartup = baselineDll is null ? null : [];
        for (var i = 0; i < Math.Max(3, o.Repeats); i++)
        {
            startup.AddRange(await Gateway.MeasureStartupAsync(gatewayDll, $"http://127.0.0.1:{upPort}", 1, Path.Combine(work, $"g{i}"), ServerCpu,
                Split(o.GatewayArgs, $"http://127.0.0.1:{upPort}")));
            if (baselineDll is not null)
            {
                baselineStartup!.AddRange(await Gateway.MeasureStartupAsync(baselineDll, $"http://127.0.0.1:{upPort}", 1, Path.Combine(work, $"b{i}"), ServerCpu,
                    Split(o.BaselineArgs, $"http://127.0.0.1:{upPort}")));
            }
        }
        Console.WriteLine("   " + string.Join(", ", startup.Select(s => s.ToString("F0", CultureInfo.InvariantCulture) + " ms")));
        if (baselineStartup is not null)
        {
            Console.WriteLine("   baseline " + string.Join(", ", baselineStartup.Select(s => s.ToString("F0", CultureInfo.InvariantCulture) + " ms")));
        }
        upstream.Dispose();
        paced.Dispose();

        LocalModelResult? local = null;
        if (o.ModelPath is not null && File.Exists(o.ModelPath))
        {
            Console.WriteLine("-- local model");
            local = await LocalModel.RunAsync(gatewayDll, o.ModelPath, o.LocalMaxTokens, o.LocalRepeats, threads: 1, work, ServerCpu);
            Console.WriteLine("   " + local.Describe());
        }

        var uptimeAfter = Uptime();
        var report = Report.Build(targets, startup, local, o, uptimeBefore, uptimeAfter, baselineStartup);
        Directory.CreateDirectory(o.OutDir);
        var file = Path.Combine(o.OutDir, DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + ".md");
        File.WriteAllText(file, report);
        Console.WriteLine();
        Console.WriteLine(report);
        Console.WriteLine($"written to {file}; logs in {work}");
        return 0;
    }

    internal static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Uptime()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("uptime") { RedirectStandardOutput = true })!;
            var s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return s;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
    }
}

public sealed record Run(WrkResult Wrk, double CpuUsPerRequest);

public sealed class Target(string name, int pid, string url, string pacedUrl)
{
    public string Name { get; } = name;
    public int Pid { get; } = pid;
    public string Url { get; } = url;
    public string PacedUrl { get; } = pacedUrl;
    public double IdleRssMiB { get; set; }
    public double PeakRssMiB { get; set; }
    public double PeakRssAllMiB { get; set; }
    public Dictionary<int, List<Run>> Wrk { get; } = [];
    public List<StreamLoadResult> Stream16 { get; } = [];
    public List<StreamLoadResult> Stream64 { get; } = [];
    public List<double> Stream64CpuUs { get; } = [];

    public double Median(int c, Func<Run, double> f) => Stats.Median(Wrk[c].Select(f));
    public double MaxRps => Wrk.Keys.Max(c => Median(c, r => r.Wrk.RequestsPerSecond));
    public double Stream16Median(double p, bool gaps) => Stats.Median(Stream16.Select(s => Stats.Percentile(gaps ? s.GapMs : s.TtftMs, p)));
    public double Stream64Rate => Stats.Median(Stream64.Select(s => s.StreamsPerSecond));
    public long Errors => Wrk.Values.SelectMany(v => v).Sum(r => r.Wrk.Errors) + Stream16.Sum(s => s.Errors) + Stream64.Sum(s => s.Errors);

}
