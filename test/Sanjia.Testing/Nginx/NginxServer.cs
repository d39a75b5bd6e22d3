using System.Diagnostics;

namespace Sanjia.Testing.Nginx;

/// <summary>
/// A throwaway nginx in front of test gateways: the repository's site file (<c>deploy/nginx/sanjia.conf</c>) with its
/// listen port and upstream addresses replaced, inside a main configuration of the test's own (its folder for the pid,
/// logs and temporary files, loopback only, in the foreground). The access log records which instance answered each
/// request (<see cref="UpstreamCounts"/>). The binary is Debian's (<c>nginx-light</c>; <c>.ci/run</c> installs it).
/// </summary>
public sealed class NginxServer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/nginx";
    private readonly string _root;
    private readonly Process _process;

    private NginxServer(string root, Process process, int port)
    {
        _root = root;
        _process = process;
        Port = port;
        Url = $"http://127.0.0.1:{port}";
    }

    public int Port { get; }
    public string Url { get; }

    /// <summary>Its folder (configuration, pid, logs): on nginx's command line, so a benchmark can find its processes.</summary>
    public string Root => _root;

    /// <summary>Why nginx tests cannot run here, or null. With <c>CI</c> or <c>SANJIA_REQUIRE_NGINX=1</c> set (<c>.ci/run</c>) they fail instead of skipping.</summary>
    public static string? Unavailable => File.Exists(Binary) ? null : $"{Binary} not found (apt-get install nginx-light; .ci/run does)";

    public static bool RequiredByCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
        || Environment.GetEnvironmentVariable("SANJIA_REQUIRE_NGINX") == "1";

    /// <summary>The repository's site file, found upwards from the test assembly.</summary>
    public static string SiteFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "deploy", "nginx", "sanjia.conf");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("deploy/nginx/sanjia.conf not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// The site file with <c>listen 80</c> made the loopback <paramref name="port"/> and its three
    /// <c>server 127.0.0.1:400N</c> lines made <paramref name="upstreamPorts"/>; everything else as committed.
    /// </summary>
    public static string Site(string text, int port, IReadOnlyList<int> upstreamPorts)
    {
        var lines = text.Split('\n');
        var upstream = 0;
        var listen = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var t = lines[i].Trim();
            if (t.StartsWith("server 127.0.0.1:", StringComparison.Ordinal))
            {
                var sp = t.IndexOf(' ', "server ".Length); // after the address: its parameters, if any
                var rest = sp > 0 ? t[sp..] : ";";
                lines[i] = $"    server 127.0.0.1:{upstreamPorts[upstream++]}{rest}";
            }
            else if (t == "listen 80;")
            {
                lines[i] = $"    listen 127.0.0.1:{port};";
                listen++;
            }
        }
        if (upstream != upstreamPorts.Count || listen != 1)
        {
            throw new InvalidOperationException($"the site file has {upstream} upstream servers and {listen} 'listen 80;' lines; expected {upstreamPorts.Count} and 1");
        }
        return string.Join('\n', lines);
    }

    /// <summary>Starts nginx with the repository's site file in front of the instances on <paramref name="upstreamPorts"/>; returns once it accepts connections.</summary>
    public static async Task<NginxServer> StartAsync(IReadOnlyList<int> upstreamPorts)
    {
        var root = Directory.CreateTempSubdirectory("sanjia-nginx-").FullName;
        var port = Cluster.GatewayCluster.FreePorts(1)[0];
        await File.WriteAllTextAsync(Path.Combine(root, "sanjia.conf"), Site(await File.ReadAllTextAsync(SiteFile()), port, upstreamPorts));
        // As root, workers would switch to nobody, who cannot write this folder: keep them as the test's user.
        var user = Environment.UserName == "root" ? "user root;" : "";
        await File.WriteAllTextAsync(Path.Combine(root, "nginx.conf"), $$"""
            {{user}}
            worker_processes 1;
            daemon off;
            pid {{root}}/nginx.pid;
            error_log {{root}}/error.log warn;
            events { worker_connections 1024; }
            http {
                client_body_temp_path {{root}}/client_body;
                proxy_temp_path {{root}}/proxy;
                fastcgi_temp_path {{root}}/fastcgi;
                uwsgi_temp_path {{root}}/uwsgi;
                scgi_temp_path {{root}}/scgi;
                log_format upstream '$status $upstream_addr';
                access_log {{root}}/access.log upstream;
                include {{root}}/sanjia.conf;
            }
            """);
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-p", root, "-c", Path.Combine(root, "nginx.conf") }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new NginxServer(root, process, port);
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {server.ErrorLog()}");
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return server;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"nginx did not listen within 30 s: {server.ErrorLog()}");
            await Task.Delay(50);
        }
    }

    public string ErrorLog()
    {
        var path = Path.Combine(_root, "error.log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>Requests per upstream port and status, from the access log (one line per request; a retried one names every address tried).</summary>
    public Dictionary<int, int> UpstreamCounts()
    {
        var counts = new Dictionary<int, int>();
        var path = Path.Combine(_root, "access.log");
        if (!File.Exists(path)) return counts;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            // "200 127.0.0.1:4001" or, after a refused connection, "200 127.0.0.1:4001, 127.0.0.1:4002": the last answered.
            var last = line[(line.LastIndexOf(' ') + 1)..];
            if (int.TryParse(last[(last.LastIndexOf(':') + 1)..], out var p)) counts[p] = counts.GetValueOrDefault(p) + 1;
        }
        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
