using System.Diagnostics;
using System.Net.Http.Headers;

namespace Sanjia.Testing.Cluster;

/// <summary>
/// One gateway as an operator runs it: the built executable (<c>dotnet sanjia.dll</c>) as a child process on a fixed
/// loopback port and its own data folder (so its own ledger journal), which a test can kill with SIGKILL and start
/// again on the same port and folder. Output is kept (the last lines) for the failure messages.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly string _executable;
    private readonly IReadOnlyList<string> _args;
    private readonly Queue<string> _output = new();
    private Process? _process;

    internal GatewayProcess(int index, string executable, string dataDir, int port, IReadOnlyList<string> args)
    {
        Index = index;
        _executable = executable;
        DataDir = dataDir;
        Port = port;
        _args = args;
        Url = $"http://127.0.0.1:{port}";
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayCluster.MasterKey);
    }

    public int Index { get; }
    public int Port { get; }
    public string Url { get; }
    public string DataDir { get; }

    /// <summary>A client of this instance sending the master key.</summary>
    public HttpClient Http { get; }

    /// <summary>The command line it runs with (the cluster's, then the instance's own arguments).</summary>
    public IReadOnlyList<string> Arguments => _args;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The process's resident memory (VmRSS), in MB; 0 when it is not running.</summary>
    public double ResidentMegabytes()
    {
        if (_process is not { HasExited: false } p) return 0;
        var line = File.ReadLines($"/proc/{p.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>The last lines the process wrote (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output) return string.Join('\n', _output);
        }
    }

    /// <summary>Starts the process and waits until <c>/health/live</c> answers (bounded: 90 s on a loaded machine).</summary>
    public async Task StartAsync()
    {
        if (IsRunning) throw new InvalidOperationException($"instance {Index} is running");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(_executable);
        foreach (var a in _args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => Keep(e.Data);
        p.ErrorDataReceived += (_, e) => Keep(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        var sw = Stopwatch.StartNew();
        using var probe = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (p.HasExited) throw new InvalidOperationException($"instance {Index} exited with code {p.ExitCode} while starting:\n{Output}");
            try
            {
                using var r = await probe.GetAsync("/health/live");
                if (r.IsSuccessStatusCode) return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            if (sw.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException($"instance {Index} did not answer /health/live within 90 s:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL (as <c>kill -9</c>): no shutdown hook runs, nothing is drained. Returns once the process is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } p) return;
        if (!p.HasExited) p.Kill();
        await p.WaitForExitAsync();
        p.Dispose();
        _process = null;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > 200) _output.Dequeue();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Http.Dispose();
    }
}
