using System.Globalization;
using System.Text;

namespace Sanjia.Bench.Load;

/// <summary>The Markdown report: absolute figures, ratios to nginx, and the issue's targets with pass/fail.</summary>
public static class Report
{
    public static string Build(Target[] t, List<double> startup, LocalModelResult? local, SuiteOptions o, string loadBefore, string loadAfter, List<double>? baselineStartup = null)
    {
        var direct = t.Single(x => x.Name == "direct");
        var nginx = t.Single(x => x.Name == "nginx");
        var gw = t.Single(x => x.Name == "gateway");
        var sb = new StringBuilder();
        sb.AppendLine(F($"# Load run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        sb.AppendLine();
        sb.AppendLine(F($"Command: `bench/load/run.sh` ({o.Repeats} repeats × {o.Seconds} s per wrk point, median shown; streaming {o.StreamRepeats} × {o.StreamSeconds} s; paced upstream {o.ChunkDelayMs} ms between chunks). "));
        sb.AppendLine(F($"Machine: {Proc.MachineCpus} CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; pinning {(Proc.HasTaskset ? "nginx/gateway on CPU 0, wrk/load client/fake upstreams on CPU 1" : "off")}."));
        sb.AppendLine();
        sb.AppendLine($"Load before: `{loadBefore}`  ");
        sb.AppendLine($"Load after: `{loadAfter}`");
        if (o.Note is not null) { sb.AppendLine(); sb.AppendLine(o.Note); }
        if (o.GatewayArgs is not null) { sb.AppendLine(); sb.AppendLine($"Gateway arguments added: `{o.GatewayArgs}`"); }
        if (o.BaselineArgs is not null) { sb.AppendLine(); sb.AppendLine($"Baseline arguments added: `{o.BaselineArgs}`"); }
        sb.AppendLine();
        sb.AppendLine("## Non-streaming (wrk, fake upstream answering at once)");
        sb.AppendLine();
        Header(sb, t);
        foreach (var c in gw.Wrk.Keys.Order())
        {
            Row(sb, $"requests/s, c={c}", x => x.Median(c, r => r.Wrk.RequestsPerSecond), "F0", t);
        }
        foreach (var c in gw.Wrk.Keys.Order())
        {
            Row(sb, $"latency p50 ms, c={c}", x => x.Median(c, r => r.Wrk.P50Ms), "F3", t);
        }
        foreach (var c in gw.Wrk.Keys.Order())
        {
            Row(sb, $"latency p99 ms, c={c}", x => x.Median(c, r => r.Wrk.P99Ms), "F3", t);
        }
        foreach (var c in gw.Wrk.Keys.Order())
        {
            Row(sb, $"CPU µs/request (own process), c={c}", x => x.Median(c, r => r.CpuUsPerRequest), "F0", t);
        }
        Row(sb, "max requests/s", x => x.MaxRps, "F0", t);
        Row(sb, "idle RSS MiB", x => x.IdleRssMiB, "F1", t);
        Row(sb, "peak RSS MiB (VmHWM after c=256)", x => x.PeakRssMiB, "F1", t);
        Row(sb, "peak RSS MiB (end of streaming)", x => x.PeakRssAllMiB, "F1", t);
        Row(sb, "errors (all runs)", x => x.Errors, "F0", t);
        sb.AppendLine();
        sb.AppendLine(F($"## Streaming (load client; c=16 against the paced upstream, c=64 against the one answering at once)"));
        sb.AppendLine();
        Header(sb, t);
        foreach (var p in new[] { 50, 90, 99 }) Row(sb, $"TTFT p{p} ms, c=16", x => x.Stream16Median(p, gaps: false), "F3", t);
        foreach (var p in new[] { 50, 90, 99 }) Row(sb, $"gap p{p} ms, c=16", x => x.Stream16Median(p, gaps: true), "F3", t);
        Row(sb, "streams/s, c=16 (paced)", x => Stats.Median(x.Stream16.Select(s => s.StreamsPerSecond)), "F0", t);
        Row(sb, "streams/s, c=64", x => x.Stream64Rate, "F0", t);
        Row(sb, "CPU µs/stream (own process), c=64", x => x.Stream64CpuUs.Count > 0 ? Stats.Median(x.Stream64CpuUs) : double.NaN, "F0", t);
        sb.AppendLine();
        sb.AppendLine("## Start-up and local model");
        sb.AppendLine();
        var startupMs = Stats.Median(startup);
        sb.AppendLine(F($"- Start-up to first served chat request (`dotnet sanjia.dll`, no local chat model): median {startupMs:F0} ms of {string.Join(", ", startup.Select(s => s.ToString("F0", CultureInfo.InvariantCulture)))}"));
        sb.AppendLine(local is null ? "- Local model: skipped (no model file)." : "- " + local.Describe() + " (1 thread each on the same CPU, same seeds, time includes context creation and prompt)");
        sb.AppendLine();

        var cpuGw = Math.Max(gw.Median(16, r => r.CpuUsPerRequest), gw.Median(64, r => r.CpuUsPerRequest));
        var added = gw.Median(1, r => r.Wrk.P50Ms) - direct.Median(1, r => r.Wrk.P50Ms);
        var addedTtft = gw.Stream16Median(50, false) - direct.Stream16Median(50, false);
        var gapDiff = gw.Stream16Median(99, true) - direct.Stream16Median(99, true);
        var streamRatio = gw.Stream64Rate / direct.Stream64Rate;
        sb.AppendLine("## Targets (issue 6)");
        sb.AppendLine();
        sb.AppendLine("| target | measured | result |");
        sb.AppendLine("|---|---:|:---:|");
        Target(sb, "CPU per request at c=16–64 ≤ 150 µs", F($"{cpuGw:F0} µs (nginx {Math.Max(nginx.Median(16, r => r.CpuUsPerRequest), nginx.Median(64, r => r.CpuUsPerRequest)):F0} µs)"), cpuGw <= 150);
        Target(sb, "max requests/s ≥ 0.5 × nginx", F($"{gw.MaxRps:F0} vs {nginx.MaxRps:F0} = {gw.MaxRps / nginx.MaxRps:F2}×"), gw.MaxRps >= 0.5 * nginx.MaxRps);
        Target(sb, "added latency at c=1 ≤ 0.3 ms (p50)", F($"{added:F3} ms"), added <= 0.3);
        Target(sb, "added TTFT at c=16 ≤ 0.5 ms (p50)", F($"{addedTtft:F3} ms"), addedTtft <= 0.5);
        // One-sided: coalescing or added delay raise the gateway's gap p99; a p99 below direct's is direct's own noise.
        Target(sb, "gap p99 at most 1 ms above direct (no coalescing)", F($"{gapDiff:+0.000;-0.000} ms"), gapDiff <= 1);
        Target(sb, "streams/s at c=64 same as direct (≥ 95 %)", F($"{streamRatio:P0}"), streamRatio >= 0.95);
        Target(sb, "idle RSS ≤ 100 MiB", F($"{gw.IdleRssMiB:F1} MiB"), gw.IdleRssMiB <= 100);
        Target(sb, "peak RSS at c=256 ≤ 300 MiB", F($"{gw.PeakRssMiB:F1} MiB"), gw.PeakRssMiB <= 300);
        Target(sb, "start-up ≤ 1.5 s", F($"{startupMs:F0} ms"), startupMs <= 1500);
        if (local is not null) Target(sb, "local model tokens/s ≥ 95 % of LLamaSharp direct (median of paired repeats)", F($"{local.MedianPairRatio:P1} (totals {local.Ratio:P1})"), local.MedianPairRatio >= 0.95);
        if (t.SingleOrDefault(x => x.Name == Suite.BareProxy) is { } bare)
        {
            sb.AppendLine();
            sb.AppendLine("## The gateway against the bare .NET proxy (Kestrel + SocketsHttpHandler, bodies copied, nothing else)");
            sb.AppendLine();
            sb.AppendLine("| metric | nginx | bare .NET | gateway | bare .NET ÷ nginx | gateway ÷ bare .NET |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            Compare(sb, "max requests/s", x => x.MaxRps, "F0", nginx, bare, gw);
            Compare(sb, "CPU µs/request, c=16", x => x.Median(16, r => r.CpuUsPerRequest), "F0", nginx, bare, gw);
            Compare(sb, "CPU µs/request, c=64", x => x.Median(64, r => r.CpuUsPerRequest), "F0", nginx, bare, gw);
            Compare(sb, "streams/s, c=64", x => x.Stream64Rate, "F0", nginx, bare, gw);
            Compare(sb, "streams/s, c=64, ÷ direct", x => x.Stream64Rate / direct.Stream64Rate, "P0", nginx, bare, gw);
            Compare(sb, "CPU µs/stream, c=64", x => x.Stream64CpuUs.Count > 0 ? Stats.Median(x.Stream64CpuUs) : double.NaN, "F0", nginx, bare, gw);
            Compare(sb, "added TTFT p50 ms, c=16 (over direct)", x => x.Stream16Median(50, false) - direct.Stream16Median(50, false), "F3", nginx, bare, gw);
            sb.AppendLine();
            sb.AppendLine("For requests the bare proxy is the floor: what the gateway costs above it is authentication, parsing, routing, metering and its headers. "
                + "For streams it is not: it writes every upstream HTTP chunk on its own (`Stream.CopyToAsync`), where the gateway writes the events that arrived together in one send.");
        }
        if (t.SingleOrDefault(x => x.Name == Suite.Baseline) is { } b)
        {
            sb.AppendLine();
            sb.AppendLine(F($"## The gateway against the baseline build (`--baseline {o.BaselineRepo}`), measured interleaved in this run"));
            sb.AppendLine();
            sb.AppendLine("| metric | baseline | gateway | gateway ÷ baseline |");
            sb.AppendLine("|---|---:|---:|---:|");
            void Pair(string name, Func<Target, double> f, string format)
            {
                double x = f(b), g = f(gw);
                sb.AppendLine($"| {name} | {x.ToString(format, CultureInfo.InvariantCulture)} | {g.ToString(format, CultureInfo.InvariantCulture)} | {Ratio(g, x)} |");
            }
            foreach (var c in gw.Wrk.Keys.Order()) Pair($"CPU µs/request, c={c}", x => x.Median(c, r => r.CpuUsPerRequest), "F1");
            Pair("max requests/s", x => x.MaxRps, "F0");
            Pair("latency p50 ms, c=1", x => x.Median(1, r => r.Wrk.P50Ms), "F3");
            Pair("TTFT p50 ms, c=16", x => x.Stream16Median(50, false), "F3");
            Pair("TTFT p99 ms, c=16", x => x.Stream16Median(99, false), "F3");
            Pair("streams/s, c=64", x => x.Stream64Rate, "F0");
            Pair("CPU µs/stream, c=64", x => x.Stream64CpuUs.Count > 0 ? Stats.Median(x.Stream64CpuUs) : double.NaN, "F0");
            Pair("idle RSS MiB", x => x.IdleRssMiB, "F1");
            Pair("peak RSS MiB (after c=256)", x => x.PeakRssMiB, "F1");
            if (baselineStartup is { Count: > 0 })
            {
                sb.AppendLine(F($"| start-up ms (median) | {Stats.Median(baselineStartup):F0} | {Stats.Median(startup):F0} | {Ratio(Stats.Median(startup), Stats.Median(baselineStartup))} |"));
            }
        }
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, Target[] t)
    {
        sb.AppendLine($"| metric | {string.Join(" | ", t.Select(x => x.Name))} | gateway ÷ nginx |");
        sb.AppendLine($"|---|{string.Concat(t.Select(_ => "---:|"))}---:|");
    }

    private static void Row(StringBuilder sb, string name, Func<Target, double> f, string format, Target[] t)
    {
        var values = t.Select(f).ToArray();
        var nginx = values[Array.FindIndex(t, x => x.Name == "nginx")];
        var gw = values[Array.FindIndex(t, x => x.Name == "gateway")];
        sb.AppendLine($"| {name} | {string.Join(" | ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)))} | {Ratio(gw, nginx)} |");
    }

    private static void Compare(StringBuilder sb, string name, Func<Target, double> f, string format, Target nginx, Target bare, Target gw)
    {
        double n = f(nginx), b = f(bare), g = f(gw);
        string V(double v) => v.ToString(format, CultureInfo.InvariantCulture);
        sb.AppendLine($"| {name} | {V(n)} | {V(b)} | {V(g)} | {Ratio(b, n)} | {Ratio(g, b)} |");
    }

    private static string Ratio(double x, double y) => y == 0 || double.IsNaN(y) ? "–" : (x / y).ToString("F2", CultureInfo.InvariantCulture) + "×";

    private static void Target(StringBuilder sb, string name, string measured, bool pass) =>
        sb.AppendLine($"| {name} | {measured} | {(pass ? "pass" : "**fail**")} |");

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
