using System.Net;
using System.Net.Sockets;

namespace Sanjia.Testing.Cluster;

/// <summary>
/// N real gateway processes acting as one, as docs/deployment.md runs them: the built executable (<c>sanjia.dll</c>
/// beside the test assembly), each on its own loopback port with its own data folder (its own ledger journal), all
/// with the same shared settings, e.g. <c>--Sanjia:Storage:Postgres=...</c> and, later, the Redis settings. Instances
/// start together (as a deployment's do, which is what the migration lock is for) and can be killed and restarted one
/// by one. Everything is removed at dispose.
/// </summary>
public sealed class GatewayCluster : IAsyncDisposable
{
    /// <summary>The master key every instance is started with.</summary>
    public const string MasterKey = "sk-cluster-master-key-0123456789";

    private readonly string _root;

    private GatewayCluster(string root, IReadOnlyList<GatewayProcess> instances)
    {
        _root = root;
        Instances = instances;
    }

    public IReadOnlyList<GatewayProcess> Instances { get; }

    public GatewayProcess this[int index] => Instances[index];

    /// <param name="count">How many instances.</param>
    /// <param name="shared">Arguments every instance gets (provider, aliases, prices, storage, Redis...).</param>
    /// <param name="perInstance">Arguments of one instance by its index (e.g. a node name), after the shared ones.</param>
    /// <param name="executable">The gateway's <c>sanjia.dll</c>; by default the one copied beside the test assembly.</param>
    public static async Task<GatewayCluster> StartAsync(int count, IEnumerable<string> shared, Func<int, IEnumerable<string>>? perInstance = null, string? executable = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        executable ??= Path.Combine(AppContext.BaseDirectory, "sanjia.dll");
        if (!File.Exists(executable)) throw new FileNotFoundException("the gateway executable is not beside the tests (reference src/Sanjia)", executable);
        var root = Directory.CreateTempSubdirectory("sanjia-cluster-").FullName;
        var sharedArgs = shared.ToList();
        var instances = new List<GatewayProcess>(count);
        foreach (var (i, port) in FreePorts(count).Index())
        {
            var dataDir = Directory.CreateDirectory(Path.Combine(root, $"gw{i}")).FullName;
            instances.Add(new GatewayProcess(i, executable, dataDir, port, [.. BaseArgs(dataDir, port), .. sharedArgs, .. perInstance?.Invoke(i) ?? []]));
        }
        var cluster = new GatewayCluster(root, instances);
        try
        {
            await Task.WhenAll(instances.Select(g => g.StartAsync()));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>What every instance needs to run unattended: its address and folders, the master key, no surprises from the environment.</summary>
    private static string[] BaseArgs(string dataDir, int port) =>
    [
        $"--Sanjia:Urls=http://127.0.0.1:{port}",
        $"--Sanjia:DataDir={dataDir}",
        $"--Sanjia:ModelsDir={Directory.CreateDirectory(Path.Combine(dataDir, "models")).FullName}",
        $"--Sanjia:MasterKey={MasterKey}",
        "--Sanjia:PresetsFromEnvironment=false",
        "--Sanjia:Local:Embeddings=false",
        "--Logging:LogLevel:Default=Warning",
    ];

    /// <summary>Distinct free loopback ports, all held until each is known, so no two instances get the same one.</summary>
    public static IReadOnlyList<int> FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var l in listeners) l.Start();
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Instances.Select(g => g.DisposeAsync().AsTask()));
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by an exiting process: the temporary folder is cleaned by the system.
        }
    }
}
