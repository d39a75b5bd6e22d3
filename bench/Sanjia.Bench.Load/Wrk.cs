using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Sanjia.Bench.Load;

public sealed record WrkResult(long Requests, double Seconds, double RequestsPerSecond, double P50Ms, double P90Ms, double P99Ms, long Errors);

/// <summary>Runs wrk (one thread, pinned) with a POST script and reads its summary.</summary>
public static partial class Wrk
{
    public static string WriteScript(string dir, string body, string? key)
    {
        var path = Path.Combine(dir, "post.lua");
        var auth = key is null ? "" : $"wrk.headers[\"Authorization\"] = \"Bearer {key}\"\n";
        File.WriteAllText(path, $"wrk.method = \"POST\"\nwrk.body = [[{body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{auth}");
        return path;
    }

    public static async Task<WrkResult> RunAsync(string url, string script, int connections, double seconds, int? cpu)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var args = new List<string>();
        if (cpu is not null && Proc.HasTaskset)
        {
            psi.FileName = "taskset";
            args.AddRange(["-c", cpu.Value.ToString(CultureInfo.InvariantCulture), "wrk"]);
        }
        else
        {
            psi.FileName = "wrk";
        }
        args.AddRange(["-t1", $"-c{connections}", $"-d{seconds.ToString(CultureInfo.InvariantCulture)}s", "--latency", "--timeout", "10s", "-s", script, url]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().ConfigureAwait(false);
        var text = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        return Parse(text);
    }

    public static WrkResult Parse(string text)
    {
        var requests = RequestsLine().Match(text);
        if (!requests.Success) throw new InvalidOperationException("wrk printed no summary:\n" + text);
        double Latency(string pct) => LatencyMs(Regex.Match(text, $@"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline));
        long errors = 0;
        var non2xx = Non2xx().Match(text);
        if (non2xx.Success) errors += long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture);
        var socket = SocketErrors().Match(text);
        if (socket.Success)
        {
            for (var g = 1; g <= 4; g++) errors += long.Parse(socket.Groups[g].Value, CultureInfo.InvariantCulture);
        }
        var seconds = double.Parse(requests.Groups[2].Value, CultureInfo.InvariantCulture) * (requests.Groups[3].Value == "m" ? 60 : 1);
        var count = long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkResult(count, seconds, count / seconds, Latency("50"), Latency("90"), Latency("99"), errors);
    }

    private static double LatencyMs(Match m)
    {
        if (!m.Success) return double.NaN;
        var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
    }

    [GeneratedRegex(@"(\d+) requests in ([\d.]+)(m|s)")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
