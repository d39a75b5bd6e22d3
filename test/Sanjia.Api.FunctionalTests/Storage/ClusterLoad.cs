using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Npgsql;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.Cluster;

namespace Sanjia.Api.FunctionalTests.Storage;

/// <summary>
/// Concurrent clients spreading chat requests (half of them streamed) over a cluster's instances, or over one address
/// in front of them (a load balancer). A response counts as acknowledged when it was received whole with status 200:
/// a JSON body, or a stream through its <c>[DONE]</c>. An instance that is down is skipped (its requests fail to connect).
/// </summary>
internal sealed class ClusterLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _clients;
    private int _refused;
    private int _failedToConnect;

    /// <summary>Acknowledged request ids and the instance that answered (-1 through a single address).</summary>
    public ConcurrentDictionary<string, int> Acknowledged { get; } = new(StringComparer.Ordinal);

    /// <summary>Answers received whole with another status than 200 (by an instance that was up).</summary>
    public int Refused => Volatile.Read(ref _refused);

    public int FailedToConnect => Volatile.Read(ref _failedToConnect);

    private ClusterLoad(IReadOnlyList<(HttpClient Http, int Instance)> targets, int clients)
    {
        _clients = [.. Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(targets, c)))];
    }

    /// <summary>Round-robin over the instances, each client starting at another one.</summary>
    public static ClusterLoad Start(GatewayCluster cluster, int clients) =>
        new([.. cluster.Instances.Select(g => (g.Http, g.Index))], clients);

    /// <summary>Everything through one address (nginx in front of the instances).</summary>
    public static ClusterLoad Start(HttpClient front, int clients) => new([(front, -1)], clients);

    public int CountFrom(int instance) => Acknowledged.Values.Count(i => i == instance);

    /// <summary>Waits until <paramref name="condition"/> holds; fails after <paramref name="bound"/> (generous: the machine is shared).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan bound, Func<string> what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < bound, $"after {bound.TotalSeconds} s: {what()}");
            await Task.Delay(50);
        }
    }

    private async Task ClientAsync(IReadOnlyList<(HttpClient Http, int Instance)> targets, int client)
    {
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var (http, instance) = targets[(client + i) % targets.Count];
            try
            {
                using var m = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody($"client {client} request {i}", stream: (client + i) % 2 == 0) };
                m.Headers.Authorization = new("Bearer", GatewayCluster.MasterKey);
                using var r = await http.SendAsync(m, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
                var body = await r.Content.ReadAsStringAsync(_stop.Token);
                if (r.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref _refused);
                }
                else if (body.EndsWith('}') || body.Contains("data: [DONE]", StringComparison.Ordinal))
                {
                    Acknowledged[r.Headers.GetValues("x-request-id").Single()] = instance;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                // The instance is down, or died under the request: not acknowledged. A short pause, so a client does
                // not spin on a closed port.
                Interlocked.Increment(ref _failedToConnect);
                await Task.Delay(20, CancellationToken.None);
            }
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    /// <summary>Ledger rows per request id, read straight from PostgreSQL (independently of the gateway's code).</summary>
    public static async Task<Dictionary<string, long>> LedgerRowsAsync(string connectionString)
    {
        await using var ds = NpgsqlDataSource.Create(connectionString);
        await using var cmd = ds.CreateCommand("SELECT request_id, count(*) FROM ledger GROUP BY request_id");
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await r.ReadAsync()) rows[r.GetString(0)] = r.GetInt64(1);
        return rows;
    }

    /// <summary>
    /// Polls PostgreSQL until every acknowledged request has its row (the instances write in batches off the request
    /// path, and a restarted or reconnected one drains its journal), bounded by <paramref name="bound"/>; returns the rows.
    /// </summary>
    public async Task<Dictionary<string, long>> WaitForLedgerAsync(string connectionString, TimeSpan bound)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            Dictionary<string, long>? rows = null;
            try
            {
                rows = await LedgerRowsAsync(connectionString);
            }
            catch (NpgsqlException)
            {
                // The server is still starting.
            }
            var missing = rows is null ? Acknowledged.Count : Acknowledged.Keys.Count(id => !rows.ContainsKey(id));
            if (rows is not null && missing == 0) return rows;
            Assert.True(sw.Elapsed < bound, $"after {bound.TotalSeconds} s, {missing} of {Acknowledged.Count} acknowledged requests have no ledger row");
            await Task.Delay(200);
        }
    }
}
