using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// The gateway as a child process (<c>dotnet sanjia.dll</c>), killed with SIGKILL under load: after a restart every
/// response the client received completely has its ledger row.
/// </summary>
public sealed class DurabilityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)] // the default: entries copied into the mapped journal, no system call
    [InlineData(true)] // Metering:JournalFsync: group commit, msync before the responses complete
    public async Task Every_response_the_client_received_is_in_the_ledger_after_sigkill_and_restart(bool journalFsync)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("durable answer", completionTokens: 5));
        var dataDir = GatewayServer.NewDataDir();
        var port = FakeOpenAiServer.GetUnusedPort();
        var url = $"http://127.0.0.1:{port}";
        string[] args = [.. MeteringSetup.Args(upstream, dataDir, url), $"--Sanjia:Metering:JournalFsync={journalFsync}"];

        var received = new ConcurrentBag<string>();
        using (var gateway = Start(args))
        {
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
            await WaitHealthyAsync(http, gateway);
            using var stop = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        using var m = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody(stream: (i + c) % 2 == 0) };
                        m.Headers.Add("Authorization", "Bearer " + GatewayServer.MasterKey);
                        using var r = await http.SendAsync(m, HttpCompletionOption.ResponseHeadersRead);
                        var body = await r.Content.ReadAsStringAsync();
                        // Received completely: a JSON body, or a stream through its [DONE].
                        if (r.StatusCode == HttpStatusCode.OK && (body.EndsWith("}", StringComparison.Ordinal) || body.Contains("data: [DONE]", StringComparison.Ordinal)))
                        {
                            received.Add(r.Headers.GetValues("x-request-id").Single());
                        }
                    }
                    catch (Exception) when (stop.IsCancellationRequested || gateway.HasExited)
                    {
                        return;
                    }
                    catch (HttpRequestException)
                    {
                        return; // the process died under us
                    }
                }
            })).ToList();

            // Kill once a good number of responses arrived (bounded wait, no speed target).
            var deadline = Stopwatch.StartNew();
            while (received.Count < 150 && deadline.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(20);
            gateway.Kill(); // SIGKILL on Linux: no shutdown hooks, no draining
            stop.Cancel();
            await Task.WhenAll(clients);
            await gateway.WaitForExitAsync();
        }
        Assert.True(received.Count > 0, "no response arrived before the kill");

        // Restart: the journal is replayed into SQLite before the gateway serves.
        using (var restarted = Start(args))
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            await WaitHealthyAsync(http, restarted);
            restarted.Kill();
            await restarted.WaitForExitAsync();
        }
        var ledger = MeteringSetup.LedgerRequestIds(Path.Combine(dataDir, "sanjia.db"));
        var missing = received.Where(id => !ledger.Contains(id)).ToList();
        output.WriteLine($"{received.Count} responses received before SIGKILL; {ledger.Count} ledger rows after restart; missing: {missing.Count}");
        Assert.Empty(missing);
    }

    [Fact]
    public async Task Streams_in_flight_at_sigkill_have_a_ledger_row_with_their_tokens_so_far_after_restart()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        // 2400 words, one every 50 ms: each stream runs for two minutes, longer than the test's bounded waits together
        // (a stream that ended before the kill would have its normal row, and the test would check nothing).
        upstream.SetDefault(FakeBehavior.StreamChunks(2400, TimeSpan.FromMilliseconds(50)));
        var dataDir = GatewayServer.NewDataDir();
        var url = $"http://127.0.0.1:{FakeOpenAiServer.GetUnusedPort()}";
        var args = MeteringSetup.Args(upstream, dataDir, url);

        var inFlight = new List<string>();
        Dictionary<string, int> journaled;
        using (var gateway = Start(args))
        {
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
            await WaitHealthyAsync(http, gateway);
            var open = new List<(HttpResponseMessage Response, StreamReader Reader)>();
            for (var i = 0; i < 6; i++)
            {
                var m = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = MeteringSetup.ChatBody($"Stream {i}, please", stream: true) };
                m.Headers.Add("Authorization", "Bearer " + GatewayServer.MasterKey);
                var r = await http.SendAsync(m, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line && !line.StartsWith("data:", StringComparison.Ordinal))
                {
                }
                inFlight.Add(r.Headers.GetValues("x-request-id").Single());
                open.Add((r, reader));
            }
            // Kill once every stream has a progress line with tokens in the journal (written at most once a second,
            // at the first chunk a second after the last line). A fixed wait (3 s) was too short on a loaded machine:
            // a stream whose first progress line was not written yet is stored with its start line's zero tokens.
            journaled = await WaitForProgressLinesAsync(Path.Combine(dataDir, "ledger.journal"), inFlight, gateway);
            gateway.Kill(); // SIGKILL: no stream ends, no row is written the normal way
            await gateway.WaitForExitAsync();
            foreach (var (r, reader) in open)
            {
                reader.Dispose();
                r.Dispose();
            }
        }

        using (var restarted = Start(args))
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            await WaitHealthyAsync(http, restarted);
            restarted.Kill();
            await restarted.WaitForExitAsync();
        }
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDir, "sanjia.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        foreach (var id in inFlight)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT status, error_code, input_tokens, output_tokens, cost FROM ledger WHERE request_id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            using var row = cmd.ExecuteReader();
            Assert.True(row.Read(), $"no ledger row for the stream {id} that was in flight at the kill");
            output.WriteLine($"{id}: status {row.GetInt32(0)} {row.GetString(1)}, {row.GetInt32(2)} input and {row.GetInt32(3)} output tokens, cost {row.GetString(4)}");
            Assert.Equal(500, row.GetInt32(0));
            Assert.Equal("gateway_interrupted", row.GetString(1));
            Assert.True(row.GetInt32(2) > 0 && row.GetInt32(3) > 0, "the row carries the tokens known at the last progress line");
            // Replay keeps a stream's latest line: never fewer tokens than a line already journaled before the kill.
            Assert.True(row.GetInt32(3) >= journaled[id], $"{row.GetInt32(3)} output tokens stored, {journaled[id]} were journaled before the kill");
            Assert.True(decimal.Parse(row.GetString(4), System.Globalization.CultureInfo.InvariantCulture) > 0m);
            Assert.False(row.Read()); // one row per stream
        }
    }

    /// <summary>
    /// Polls the gateway's journal until each stream has an in-flight line (status 0) with output tokens; returns the
    /// highest output count seen per stream. Bounded (60 s), so a gateway that never writes one fails the test.
    /// </summary>
    private static async Task<Dictionary<string, int>> WaitForProgressLinesAsync(string journalPath, IReadOnlyList<string> requestIds, Process gateway)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var sw = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(gateway.HasExited, "the gateway exited while the streams ran");
            byte[] bytes;
            // The gateway has the segment mapped for writing; it is read as replay reads it, up to the first zero byte.
            using (var file = new FileStream(journalPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                bytes = new byte[file.Length];
                file.ReadExactly(bytes);
            }
            var zero = Array.IndexOf(bytes, (byte)0);
            var text = System.Text.Encoding.UTF8.GetString(bytes, 0, zero < 0 ? bytes.Length : zero);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                System.Text.Json.JsonDocument doc;
                try
                {
                    doc = System.Text.Json.JsonDocument.Parse(line);
                }
                catch (System.Text.Json.JsonException)
                {
                    continue; // read while the gateway wrote it (a read is not atomic): the next poll reads it again
                }
                using (doc)
                {
                    var e = doc.RootElement;
                    var id = e.GetProperty("RequestId").GetString()!;
                    var output = e.GetProperty("Usage").GetProperty("Output").GetInt32();
                    if (e.GetProperty("Status").GetInt32() == 0 && requestIds.Contains(id) && output > seen.GetValueOrDefault(id)) seen[id] = output;
                }
            }
            if (requestIds.All(seen.ContainsKey)) return seen;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"after 60 s, {seen.Count} of {requestIds.Count} streams have a progress line with tokens");
            await Task.Delay(100);
        }
    }

    private static Process Start(string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sanjia.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process process)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(process.HasExited, $"the gateway exited with code {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                using var r = await http.GetAsync("/health/live");
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the gateway did not become healthy");
    }
}
