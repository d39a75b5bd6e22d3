using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Sanjia.Bench.Load;

public sealed record StreamLoadOptions(Uri Url, string? Key, string Model, int Concurrency, TimeSpan Duration, int? Streams, TimeSpan Warmup);

public sealed record StreamLoadResult(int Streams, int Errors, double Seconds, List<double> TtftMs, List<double> GapMs)
{
    public double StreamsPerSecond => Streams / Seconds;

    public string Describe() => FormattableString.Invariant(
        $"streams {Streams} in {Seconds:F2}s = {StreamsPerSecond:F1}/s, errors {Errors}; TTFT ms p50 {Stats.Percentile(TtftMs, 50):F3} p90 {Stats.Percentile(TtftMs, 90):F3} p99 {Stats.Percentile(TtftMs, 99):F3}; gap ms p50 {Stats.Percentile(GapMs, 50):F3} p90 {Stats.Percentile(GapMs, 90):F3} p99 {Stats.Percentile(GapMs, 99):F3} ({GapMs.Count} gaps)");
}

/// <summary>
/// C connections, each looping streaming chat requests. Time to first chunk is measured from just before the
/// request is sent to the read that completes the first content event; a gap is the time between the reads that
/// complete two consecutive content events (two events arriving in one read give a gap of 0: coalescing shows).
/// The usage chunk and <c>[DONE]</c> are not content events.
/// </summary>
public static class StreamLoad
{
    public static async Task<StreamLoadResult> RunAsync(StreamLoadOptions o)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = o.Concurrency,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{o.Model}}","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello to the benchmark."}]}""");

        if (o.Warmup > TimeSpan.Zero)
        {
            await RunPhaseAsync(client, o, body, o.Warmup, null).ConfigureAwait(false);
        }
        return await RunPhaseAsync(client, o, body, o.Duration, o.Streams).ConfigureAwait(false);
    }

    private static async Task<StreamLoadResult> RunPhaseAsync(HttpClient client, StreamLoadOptions o, byte[] body, TimeSpan duration, int? streams)
    {
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var remaining = streams ?? int.MaxValue;
        var workers = new Task<Worker>[o.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(async () =>
            {
                var w = new Worker();
                while ((streams is not null || Stopwatch.GetTimestamp() < deadline)
                    && (streams is null || Interlocked.Decrement(ref remaining) >= 0))
                {
                    await w.OneAsync(client, o, body).ConfigureAwait(false);
                }
                return w;
            });
        }
        var done = await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var ttft = done.SelectMany(w => w.Ttft).OrderBy(v => v).ToList();
        var gaps = done.SelectMany(w => w.Gaps).OrderBy(v => v).ToList();
        return new StreamLoadResult(done.Sum(w => w.Streams), done.Sum(w => w.Errors), seconds, ttft, gaps);
    }

    private sealed class Worker
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private readonly List<byte> _event = new(512);
        public List<double> Ttft { get; } = new(1024);
        public List<double> Gaps { get; } = new(16 * 1024);
        public int Streams { get; private set; }
        public int Errors { get; private set; }

        public async Task OneAsync(HttpClient client, StreamLoadOptions o, byte[] body)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, o.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (o.Key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", o.Key);
                var sent = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Errors++;
                    return;
                }
                await using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                long last = 0;
                var sawDone = false;
                var sawNewline = false;
                _event.Clear();
                int n;
                while ((n = await stream.ReadAsync(_buffer).ConfigureAwait(false)) > 0)
                {
                    var now = Stopwatch.GetTimestamp();
                    for (var i = 0; i < n; i++)
                    {
                        var b = _buffer[i];
                        if (b == (byte)'\n' && sawNewline)
                        {
                            // An event ended in this read.
                            var kind = Classify(_event);
                            _event.Clear();
                            sawNewline = false;
                            if (kind == EventKind.Done) sawDone = true;
                            if (kind != EventKind.Content) continue;
                            if (last == 0) Ttft.Add(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
                            else Gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                            last = now;
                            continue;
                        }
                        sawNewline = b == (byte)'\n';
                        if (b != (byte)'\r') _event.Add(b);
                    }
                }
                if (sawDone) Streams++;
                else Errors++;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                Errors++;
            }
        }

        private enum EventKind { Other, Content, Done }

        private static EventKind Classify(List<byte> e)
        {
            var s = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(e));
            if (!s.StartsWith("data:", StringComparison.Ordinal)) return EventKind.Other;
            if (s.Contains("[DONE]", StringComparison.Ordinal)) return EventKind.Done;
            if (s.Contains("\"choices\":[]", StringComparison.Ordinal) || s.Contains("\"error\"", StringComparison.Ordinal)) return EventKind.Other;
            return EventKind.Content;
        }
    }
}
