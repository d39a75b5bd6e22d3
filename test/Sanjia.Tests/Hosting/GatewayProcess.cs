using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Sanjia.Tests.Hosting;

/// <summary>The gateway as a user runs it: the real executable in its own process, read through its console.</summary>
internal sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(Process process)
    {
        _process = process;
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static GatewayProcess Start(string workingDirectory, params string[] args) => Start(workingDirectory, null, args);

    /// <param name="environment">Extra environment variables for the process.</param>
    public static GatewayProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sanjia.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        // A developer's vendor keys must not leak into what the test sees.
        foreach (var key in info.Environment.Keys.Where(k => k.EndsWith("_API_KEY", StringComparison.Ordinal) || k.EndsWith("_API_PASSWORD", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var gp = new GatewayProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        gp._process.OutputDataReceived += (_, e) => gp.OnLine(e.Data);
        gp._process.ErrorDataReceived += (_, e) => gp.OnLine(e.Data);
        gp._process.Exited += (_, _) => gp._listening.TrySetException(new InvalidOperationException("The gateway exited:\n" + gp.Output));
        gp._process.Start();
        gp._process.BeginOutputReadLine();
        gp._process.BeginErrorReadLine();
        return gp;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        if (ListeningLine().Match(line) is { Success: true } m)
        {
            _listening.TrySetResult(m.Groups[1].Value);
        }
    }

    /// <summary>The URL the banner says it listens on.</summary>
    public Task<string> ListeningAsync() => _listening.Task.WaitAsync(TimeSpan.FromSeconds(60));

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as systemd, Docker and Kubernetes do to stop a service.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://[^\s,]+)")]
    private static partial Regex ListeningLine();
}
