using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Telemetry;

namespace Sanjia.Core.Tests.Telemetry;

/// <summary>
/// The access log's own writer against what the console logger would have written from the same
/// <c>[LoggerMessage]</c>: the same message text, the same state (names, JSON types, values), in the simple and JSON
/// layouts; whole lines under concurrent writers; and, behind an output that does not keep up, a bounded backlog
/// whose dropped lines are counted and reported.
/// </summary>
public sealed class AccessLogWriterTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 6, 9, 30, 0, 123, TimeSpan.Zero);

    private static readonly AccessLine Answered = new("req_abc", "key_1", "team_9", "/v1/chat/completions", "chat", "v/m1", 200, null, 11, 3,
        0.000046m, "USD", 12.345, 1.5, 2, true);

    private static readonly AccessLine Refused = new("req_def", "master", null, null, null, null, 404, "model_not_found", 0, 0, null, null, 0.25, null, 0, false);

    private static readonly AccessLine Odd = new("req_\"quoted\"\n中文", null, null, "/v1/embeddings", "m+1 <x>", "p/ü", 502, "upstream_error", 123456, 0,
        1234.5m, "CNY", 1e-3, 80000.125, 15, false);

    public static TheoryData<int> Lines => new() { 0, 1, 2 };

    private static AccessLine LineAt(int i) => i switch { 0 => Answered, 1 => Refused, _ => Odd };

    [Theory]
    [MemberData(nameof(Lines))]
    public void The_simple_line_is_the_console_loggers_single_line_with_the_templates_message(int i)
    {
        var line = LineAt(i);
        var output = Write(AccessLogLayout.Simple, "yyyy-MM-ddTHH:mm:ss.fffzzz ", line);
        var (message, _) = ThroughLogger(line);

        // Single-line, as the simple formatter: a line break inside a value (a model name a client sent) becomes a space.
        Assert.Equal($"2026-12-06T09:30:00.123+00:00 info: Sanjia.AccessLog[{LogEvents.Access}] {message.Replace('\n', ' ')}\n", output);
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void The_json_line_has_the_json_formatters_shape_and_the_loggers_state(int i)
    {
        var line = LineAt(i);
        var output = Write(AccessLogLayout.Json, "yyyy-MM-ddTHH:mm:ss.fffzzz", line);
        var (message, state) = ThroughLogger(line);

        Assert.EndsWith("}\n", output, StringComparison.Ordinal);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(["Timestamp", "EventId", "LogLevel", "Category", "Message", "State"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2026-12-06T09:30:00.123+00:00", root.GetProperty("Timestamp").GetString());
        Assert.Equal(LogEvents.Access, root.GetProperty("EventId").GetInt32());
        Assert.Equal("Information", root.GetProperty("LogLevel").GetString());
        Assert.Equal(AccessLog.Category, root.GetProperty("Category").GetString());
        Assert.Equal(message, root.GetProperty("Message").GetString());

        // The JSON console formatter writes State as Message, then each of the state's pairs by its value's type.
        var written = root.GetProperty("State").EnumerateObject().ToList();
        Assert.Equal(["Message", .. state.Select(p => p.Key)], written.Select(p => p.Name));
        Assert.Equal(message, written[0].Value.GetString());
        foreach (var (pair, json) in state.Zip(written.Skip(1)))
        {
            switch (pair.Value)
            {
                case null: Assert.Equal(JsonValueKind.Null, json.Value.ValueKind); break;
                case string s: Assert.Equal(s, json.Value.GetString()); break;
                case bool b: Assert.Equal(b, json.Value.GetBoolean()); break;
                case int n: Assert.Equal(n, json.Value.GetInt32()); break;
                case double d: Assert.Equal(d, json.Value.GetDouble()); break;
                case decimal m: Assert.Equal(m, json.Value.GetDecimal()); break;
                default: Assert.Fail($"{pair.Key}: {pair.Value.GetType()}"); break;
            }
        }
    }

    [Fact]
    public void Without_a_timestamp_format_no_timestamp_is_written_as_with_the_formatters()
    {
        var simple = Write(AccessLogLayout.Simple, null, Refused);
        Assert.StartsWith("info: Sanjia.AccessLog[", simple, StringComparison.Ordinal);
        var json = Write(AccessLogLayout.Json, null, Refused);
        Assert.False(JsonDocument.Parse(json).RootElement.TryGetProperty("Timestamp", out _));
        var systemd = Write(AccessLogLayout.Systemd, null, Refused);
        Assert.StartsWith($"<6>Sanjia.AccessLog[{LogEvents.Access}] req_def ", systemd, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lines_from_many_threads_arrive_whole_and_all_of_them()
    {
        // 8,000 lines of about 200 bytes: less than the backlog may hold, so none may be dropped however slow the writer.
        const int threads = 8, each = 1000;
        var output = new MemoryStream();
        var writer = new AccessLogWriter(output, AccessLogLayout.Simple, "yyyy-MM-ddTHH:mm:ss.fffzzz ", utcTimestamp: true);
        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < each; i++) writer.Write(Answered with { RequestId = $"req_{t}_{i}" });
        })));
        writer.Dispose();

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(threads * each, lines.Length);
        var ids = lines.Select(l =>
        {
            // Each line whole: a timestamp, the prefix, its own id, the rest of the message.
            var parts = l.Split(' ', 5);
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$", parts[0]);
            Assert.Equal($" info: Sanjia.AccessLog[1100] {AccessLogWriter.Message(Answered with { RequestId = parts[3] })}", l[parts[0].Length..]);
            return parts[3].Split('_');
        }).ToList();
        Assert.Equal(threads * each, ids.Select(p => string.Join('_', p)).Distinct().Count());
        // Each thread's lines in the order it wrote them.
        Assert.All(ids.GroupBy(p => p[1]), g => Assert.Equal(Enumerable.Range(0, each), g.Select(p => int.Parse(p[2], CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Behind_an_output_that_does_not_keep_up_lines_are_dropped_counted_and_reported_never_waited_for()
    {
        using var stuck = new StuckStream();
        var warnings = new CapturingLogger();
        var writer = new AccessLogWriter(stuck, AccessLogLayout.Simple, null, utcTimestamp: true, warnings: warnings);
        // 2 MiB may wait; a line is about 200 bytes: well past the bound, each Write returning at once.
        var written = 0;
        while (writer.Dropped == 0 && written < 200_000)
        {
            writer.Write(Answered);
            written++;
        }
        Assert.True(writer.Dropped > 0, "nothing was dropped");
        for (var i = 0; i < 1000; i++, written++) writer.Write(Answered);

        stuck.Release();
        writer.Dispose();

        var lines = stuck.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("info: Sanjia.AccessLog[", l, StringComparison.Ordinal));
        var dropped = warnings.Entries.Where(e => e.Id == LogEvents.AccessLinesDropped).Sum(e => long.Parse(e.Count, CultureInfo.InvariantCulture));
        Assert.True(dropped > 0, "no drop was reported");
        Assert.Equal(written, lines.Length + dropped);
        var kept = Encoding.UTF8.GetByteCount(stuck.Text);
        Assert.True(kept >= AccessLogWriter.MaxPendingChunks * (AccessLogWriter.ChunkBytes - 1024L), $"only {kept} bytes kept");
    }

    [Fact]
    public void Each_line_has_its_own_millisecond_though_the_stamp_is_formatted_once_per_millisecond()
    {
        var time = new FakeTimeProvider(At);
        var output = new MemoryStream();
        using (var writer = new AccessLogWriter(output, AccessLogLayout.Simple, "HH:mm:ss.fff ", utcTimestamp: true, time))
        {
            writer.Write(Answered);
            writer.Write(Answered);
            time.Advance(TimeSpan.FromMilliseconds(1));
            writer.Write(Answered);
            time.Advance(TimeSpan.FromSeconds(1));
            writer.Write(Answered);
        }
        var stamps = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..12]).ToArray();
        Assert.Equal(["09:30:00.123", "09:30:00.123", "09:30:00.124", "09:30:01.124"], stamps);
    }

    private static string Write(AccessLogLayout layout, string? timestampFormat, AccessLine line)
    {
        var output = new MemoryStream();
        using (var writer = new AccessLogWriter(output, layout, timestampFormat, utcTimestamp: true, new FakeTimeProvider(At)))
        {
            writer.Write(line);
        }
        return Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>The message and state the <c>[LoggerMessage]</c> gives the logger for the same line (the path taken without a writer).</summary>
    private static (string Message, IReadOnlyList<KeyValuePair<string, object?>> State) ThroughLogger(AccessLine line)
    {
        var logger = new CapturingLogger();
        using var log = new AccessLog(logger);
        log.Write(line);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogEvents.Access, entry.Id);
        return (entry.Message, entry.State);
    }

    private sealed class CapturingLogger : ILogger
    {
        public List<(int Id, string Message, IReadOnlyList<KeyValuePair<string, object?>> State, string Count)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var pairs = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            lock (Entries)
            {
                Entries.Add((eventId.Id, formatter(state, exception), pairs,
                    pairs.FirstOrDefault(p => p.Key == "Count").Value?.ToString() ?? "0"));
            }
        }
    }

    /// <summary>An output whose writes wait until released, as a console pipe nobody reads.</summary>
    private sealed class StuckStream : MemoryStream
    {
        private readonly ManualResetEventSlim _released = new(false);

        public string Text => Encoding.UTF8.GetString(ToArray());

        public void Release() => _released.Set();

        public override void Write(byte[] buffer, int offset, int count)
        {
            _released.Wait();
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _released.Wait();
            base.Write(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            _released.Dispose();
            base.Dispose(disposing);
        }
    }
}
