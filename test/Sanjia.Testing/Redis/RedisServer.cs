using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sanjia.Testing.Redis;

/// <summary>
/// A throwaway <c>redis-server</c> for a test: its own folder, loopback only, a free port, no persistence (the data dies
/// with it, as after a crash of a Redis without a disk: what a restart test needs). Each test starts its own (a
/// server takes a few milliseconds to start) and disposes it; <see cref="RestartAsync"/> stops it and starts it again
/// on the same port, empty. The binary comes from the Debian <c>redis-server</c> package (<c>.ci/run</c> installs it).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Binary = "/usr/bin/redis-server";
    private readonly string _dir;
    private Process? _process;

    private RedisServer(string dir, int port)
    {
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Why Redis tests cannot run here, or null. See <see cref="RequiredByCi"/>.</summary>
    public static string? Unavailable => File.Exists(Binary)
        ? null
        : $"redis-server not found at {Binary} (apt-get install redis-server; .ci/run does)";

    /// <summary>With <c>CI</c> set or <c>SANJIA_REQUIRE_REDIS=1</c> (<c>.ci/run</c>), a missing server fails the tests instead of skipping them.</summary>
    public static bool RequiredByCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
        || Environment.GetEnvironmentVariable("SANJIA_REQUIRE_REDIS") == "1";

    public static async Task<RedisServer> StartAsync()
    {
        if (Unavailable is { } reason) throw new InvalidOperationException(reason);
        var dir = Directory.CreateTempSubdirectory("sanjia-redis-").FullName;
        var server = new RedisServer(dir, FreePort());
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Stops the server (SIGKILL: whatever it held is lost, as in a crash).</summary>
    public async Task StopAsync()
    {
        if (_process is not { } p) return;
        _process = null;
        try
        {
            p.Kill();
        }
        catch (InvalidOperationException)
        {
        }
        await p.WaitForExitAsync();
        p.Dispose();
    }

    /// <summary>Writes the data to the server's folder (SAVE), so that the next start loads it: an outage rather than a loss.</summary>
    public async Task SaveAsync()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync("SAVE\r\n"u8.ToArray());
        var buffer = new byte[64];
        var n = await stream.ReadAsync(buffer);
        var reply = System.Text.Encoding.ASCII.GetString(buffer, 0, n);
        if (!reply.StartsWith("+OK", StringComparison.Ordinal)) throw new InvalidOperationException($"SAVE answered {reply}");
    }

    /// <summary>Stops the server and starts it again on the same port: empty, unless <see cref="SaveAsync"/> wrote its data first.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    private async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo(Binary)
        {
            ArgumentList =
            {
                "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _dir,
                "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
                "--logfile", Path.Combine(_dir, "redis.log"), "--maxmemory-policy", "noeviction",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        var process = _process = Process.Start(psi)!;
        // The test host can end without disposing (a crash, a killed run): the server must not outlive it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                if (!process.HasExited) process.Kill();
            }
            catch (InvalidOperationException)
            {
            }
        };
        // Until it accepts connections (a port freed a moment ago can take a few tries to bind again).
        for (var i = 0; i < 500; i++)
        {
            if (_process.HasExited)
            {
                var log = File.Exists(Path.Combine(_dir, "redis.log")) ? await File.ReadAllTextAsync(Path.Combine(_dir, "redis.log")) : "";
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}: {log}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }
        throw new InvalidOperationException($"redis-server did not listen on {Port} within 10 s.");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
