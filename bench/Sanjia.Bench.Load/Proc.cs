using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sanjia.Bench.Load;

/// <summary>A child process of the run, optionally pinned to one CPU with <c>taskset</c>, its output kept in a file.</summary>
public sealed class Child : IDisposable
{
    private readonly Process _process;

    private Child(Process process, string log)
    {
        _process = process;
        Log = log;
    }

    public int Pid => _process.Id;
    public string Log { get; }
    public bool HasExited => _process.HasExited;

    public static Child Start(string file, IEnumerable<string> args, string log, int? cpu, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo
        {
            FileName = cpu is not null && Proc.HasTaskset ? "taskset" : file,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (cpu is not null && Proc.HasTaskset)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpu.Value.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(file);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The gateway must not pick up cloud presets or settings from the caller's environment.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("Sanjia__", StringComparison.OrdinalIgnoreCase) || k.EndsWith("_API_KEY", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }
        psi.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(psi)!;
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        var sync = new Lock();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sync) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sync) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Child(process, log);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}

/// <summary>What /proc says about a process (and its children: nginx's workers).</summary>
public static class Proc
{
    public static readonly int MachineCpus = CountCpus();

    // This process may itself be pinned (run.sh puts it on CPU 1), so count the machine's CPUs, not ours.
    public static readonly bool HasTaskset = File.Exists("/usr/bin/taskset") && MachineCpus > 1;

    private static int CountCpus()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").Count(l => l.StartsWith("processor", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return Environment.ProcessorCount;
        }
    }
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>User + system CPU seconds of the process and its direct children.</summary>
    public static double CpuSeconds(int pid)
    {
        var total = 0L;
        foreach (var p in WithChildren(pid))
        {
            var f = StatFields(p);
            if (f is null) continue;
            total += long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        }
        return total / TicksPerSecond;
    }

    /// <summary>VmRSS and VmHWM in MiB, summed over the process and its direct children.</summary>
    public static (double Rss, double Hwm) Memory(int pid)
    {
        double rss = 0, hwm = 0;
        foreach (var p in WithChildren(pid))
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{p}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss += Kb(line) / 1024.0;
                    else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm += Kb(line) / 1024.0;
                }
            }
            catch (IOException)
            {
            }
        }
        return (rss, hwm);
    }

    /// <summary>The oldest process whose command line holds both <paramref name="name"/> and <paramref name="fragment"/> (arguments joined by spaces), or null.</summary>
    public static int? FindByCommandLine(string name, string fragment)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").OrderBy(d => int.TryParse(Path.GetFileName(d), out var n) ? n : int.MaxValue))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var line = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (line.Contains(name, StringComparison.Ordinal) && line.Contains(fragment, StringComparison.Ordinal)) return pid;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    /// <summary>Moves a running process (every thread; children it forks later inherit it) to one CPU, when taskset is there.</summary>
    public static void Pin(int pid, int cpu)
    {
        if (!HasTaskset) return;
        using var p = Process.Start(new ProcessStartInfo("taskset", ["-a", "-p", "-c", cpu.ToString(CultureInfo.InvariantCulture), pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true })!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static double Kb(string line) =>
        double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static IEnumerable<int> WithChildren(int pid)
    {
        yield return pid;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var p) || p == pid) continue;
            var f = StatFields(p);
            if (f is not null && f[1] == pid.ToString(CultureInfo.InvariantCulture)) yield return p;
        }
    }

    /// <summary>The fields of /proc/PID/stat after the command name (index 0 = state, 1 = ppid, 11 = utime, 12 = stime).</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }
}
