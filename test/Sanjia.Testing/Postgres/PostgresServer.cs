using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Sanjia.Testing.Postgres;

/// <summary>
/// A throwaway PostgreSQL server for the test run: initdb into a temporary folder, loopback only, a free port, fsync
/// off (the data dies with the run). One per test process, started on first use and stopped at exit; each test class
/// gets its own database (<see cref="CreateDatabaseAsync"/>). The binaries come from the Debian <c>postgresql</c>
/// package (/usr/lib/postgresql/&lt;version&gt;/bin; <c>.ci/run</c> installs it). PostgreSQL refuses to run as root,
/// so as root the server runs as the <c>postgres</c> user, in a folder it owns.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    private readonly string _root;
    private readonly string _bin;
    private readonly bool _asRoot;

    private PostgresServer(string root, int port, string bin, bool asRoot)
    {
        _root = root;
        Port = port;
        _bin = bin;
        _asRoot = asRoot;
    }

    public int Port { get; }

    /// <summary>A connection string to <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database }.ToString();

    /// <summary>The newest /usr/lib/postgresql/*/bin holding initdb, or null.</summary>
    public static string? FindBinaries()
    {
        const string Base = "/usr/lib/postgresql";
        if (!Directory.Exists(Base)) return null;
        return Directory.GetDirectories(Base)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            .Where(x => File.Exists(Path.Combine(x.Dir, "initdb")) && File.Exists(Path.Combine(x.Dir, "pg_ctl")))
            .OrderByDescending(x => x.Version)
            .Select(x => x.Dir)
            .FirstOrDefault();
    }

    /// <summary>Why PostgreSQL tests cannot run here, or null. See <see cref="RequiredByCi"/>.</summary>
    public static string? Unavailable => FindBinaries() is null
        ? "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql; .ci/run does)"
        : null;

    /// <summary>With <c>CI</c> set (as CI services set it) or <c>SANJIA_REQUIRE_POSTGRES=1</c> (<c>.ci/run</c>), a missing server fails the tests instead of skipping them.</summary>
    public static bool RequiredByCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
        || Environment.GetEnvironmentVariable("SANJIA_REQUIRE_POSTGRES") == "1";

    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>
    /// A server of the caller's own, for a test that stops and starts it (<see cref="StopAsync"/>,
    /// <see cref="RestartAsync"/>): the shared one serves every other test class of the process. Stopped at exit.
    /// </summary>
    public static Task<PostgresServer> StartDedicatedAsync() => StartAsync();

    private string DataDirectory => Path.Combine(_root, "data");

    private string ServerOptions =>
        $"-c listen_addresses=127.0.0.1 -p {Port} -c unix_socket_directories={_root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";

    /// <summary>
    /// Stops the server as an operator's <c>systemctl stop postgresql</c> does (<c>pg_ctl stop -m fast</c>: open
    /// sessions are ended, the port closes), keeping its data for <see cref="RestartAsync"/>.
    /// </summary>
    public Task StopAsync() => RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], _asRoot);

    /// <summary>Starts the stopped server again on the same port and data.</summary>
    public Task RestartAsync() => RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o", ServerOptions, "start"], _asRoot);

    private static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(Unavailable);
        RemoveStale();
        var root = Directory.CreateTempSubdirectory("sanjia-pg-").FullName;
        // Claimed before anything else: test projects run in parallel processes, and another one's RemoveStale must not
        // take this folder for a dead run's while initdb is still filling it (no postmaster.pid yet).
        File.WriteAllText(Path.Combine(root, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var asRoot = Environment.UserName == "root";
        if (asRoot) await RunAsync("chown", ["postgres:postgres", root], asPostgres: false);
        var data = Path.Combine(root, "data");
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"], asRoot);
        var port = FreePort();
        var server = new PostgresServer(root, port, bin, asRoot);
        // Loopback TCP only and a socket folder of our own (the Debian cluster's /var/run/postgresql is not ours).
        await server.RestartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        StartWatchdog(root, Environment.ProcessId);
        return server;
    }

    /// <summary>
    /// The server is a daemon (pg_ctl detaches it), so it outlives a test host that is ended before its exit handler
    /// runs. A detached shell watches the test process and, once it is gone, stops the server as <see cref="Stop"/>
    /// would and removes its folder: no run leaves a server behind.
    /// </summary>
    private static void StartWatchdog(string root, int owner)
    {
        // Its own stdin, stdout and stderr first: holding the test host's pipes open would keep the test runner waiting.
        var script = "exec </dev/null >/dev/null 2>&1; "
            + $"while [ -d /proc/{owner} ]; do sleep 1; done; "
            + $"pid=$(head -n 1 '{root}/data/postmaster.pid' 2>/dev/null) && kill -QUIT \"$pid\" 2>/dev/null; sleep 2; rm -rf '{root}'";
        var psi = new ProcessStartInfo("setsid") { ArgumentList = { "sh", "-c", script }, WorkingDirectory = "/" };
        Process.Start(psi)?.Dispose();
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
        await using var cmd = admin.CreateCommand($"CREATE DATABASE \"{name}\"");
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>
    /// Immediate shutdown (SIGQUIT to the postmaster, as <c>pg_ctl -m immediate</c> sends) without starting a process:
    /// the test host gives its exit handlers little time, and the data is thrown away anyway. Then the folder goes.
    /// </summary>
    private void Stop()
    {
        try
        {
            if (Postmaster(_root) is { } pid && Kill(pid, SigQuit) == 0)
            {
                for (var i = 0; i < 200 && Directory.Exists($"/proc/{pid}"); i++) Thread.Sleep(10);
            }
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next run's RemoveStale.
        }
    }

    private const int SigQuit = 3;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The running postmaster's process id for a server folder, or null.</summary>
    private static int? Postmaster(string root)
    {
        var pidFile = Path.Combine(root, "data", "postmaster.pid");
        try
        {
            return int.TryParse(System.IO.File.ReadLines(pidFile).FirstOrDefault(), out var pid) && Directory.Exists($"/proc/{pid}") ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Folders of earlier runs whose server is gone: the test platform ends the test host's process tree (the server
    /// with it) without always leaving the exit handler time to remove the folder.
    /// </summary>
    private static void RemoveStale()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), "sanjia-pg-*"))
        {
            if (Postmaster(dir) is not null) continue; // another run's server, still running
            if (Owner(dir) is not false) continue; // a live test process's folder, or one created a moment ago
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private const string OwnerFile = "owner.pid";

    /// <summary>
    /// Whether the test process that made a server folder is alive: true, false, or null for a folder younger than a
    /// minute without its owner file yet (created, not yet claimed).
    /// </summary>
    private static bool? Owner(string root)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(root, OwnerFile));
            return int.TryParse(text, out var pid) && Directory.Exists($"/proc/{pid}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return DateTime.UtcNow - Directory.GetCreationTimeUtc(root) < TimeSpan.FromMinutes(1) ? null : false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, string[] args, bool asPostgres)
    {
        var psi = asPostgres ? new ProcessStartInfo("runuser") { ArgumentList = { "-u", "postgres", "--", file } } : new ProcessStartInfo(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.WorkingDirectory = "/"; // postgres as another user cannot always enter the test's working folder
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {p.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
