using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;

namespace Sanjia.Core.Telemetry;

/// <summary>How the console logger is set up, so that an access line looks like its other lines.</summary>
public enum AccessLogLayout
{
    /// <summary><c>{timestamp}info: Sanjia.AccessLog[1100] {message}</c>: the simple formatter with <c>SingleLine</c>.</summary>
    Simple,
    /// <summary>One JSON object per line with the JSON console formatter's properties (Timestamp, EventId, LogLevel, Category, Message, State).</summary>
    Json,
    /// <summary><c>&lt;6&gt;{timestamp}Sanjia.AccessLog[1100] {message}</c>: the systemd formatter.</summary>
    Systemd,
}

/// <summary>
/// The access log's own output (docs/observability.md): each line formatted as UTF-8 on the request's thread, into a
/// thread's scratch buffer, and copied into one shared 64 KiB chunk under a short lock; one background thread writes
/// the chunks to the console's stream every <see cref="FlushInterval"/>, a few hundred lines per write. The console
/// logger instead formats each line through its formatter (strings, a TextWriter, a boxed value per field) and makes
/// one write per line: 24 µs per request at c=16 (bench/README.md). Lines look like the console logger's in the
/// configured <see cref="AccessLogLayout"/>. Nothing starts until the first line (the access log switched off costs
/// nothing); at most <see cref="MaxPendingChunks"/> chunks wait, after which lines are dropped and counted (a warning
/// says how many) rather than slowing requests down behind a console that does not keep up.
/// </summary>
public sealed class AccessLogWriter : IDisposable
{
    internal const int ChunkBytes = 64 * 1024;

    /// <summary>2 MiB: at 20,000 lines/s of about 350 bytes, 0.3 s of lines.</summary>
    internal const int MaxPendingChunks = 32;

    /// <summary>How long lines gather before they are written: lines appear 50 ms late at most; the writer wakes 20 times a second under load, never when idle.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(50);

    // The [LoggerMessage] template of AccessLog, written as the JSON formatter writes it ({OriginalFormat}).
    private const string OriginalFormat = "{RequestId} key={KeyId} team={TeamId} {Endpoint} model={Model} deployment={Deployment} status={Status} error={ErrorCode} " +
                                          "tokens={InputTokens}+{OutputTokens} cost={Cost} {Currency} latency_ms={LatencyMs} ttft_ms={TtftMs} attempts={Attempts} stream={Stream}";

    private static readonly JsonEncodedText TimestampName = JsonEncodedText.Encode("Timestamp");
    private static readonly JsonEncodedText EventIdName = JsonEncodedText.Encode("EventId");
    private static readonly JsonEncodedText LogLevelName = JsonEncodedText.Encode("LogLevel");
    private static readonly JsonEncodedText CategoryName = JsonEncodedText.Encode("Category");
    private static readonly JsonEncodedText MessageName = JsonEncodedText.Encode("Message");
    private static readonly JsonEncodedText StateName = JsonEncodedText.Encode("State");
    private static readonly JsonEncodedText Information = JsonEncodedText.Encode("Information");
    private static readonly JsonEncodedText CategoryValue = JsonEncodedText.Encode(AccessLog.Category);
    private static readonly JsonEncodedText OriginalFormatName = JsonEncodedText.Encode("{OriginalFormat}");
    private static readonly JsonEncodedText OriginalFormatValue = JsonEncodedText.Encode(OriginalFormat);
    private static readonly JsonEncodedText[] FieldNames = [.. new[]
    {
        "RequestId", "KeyId", "TeamId", "Endpoint", "Model", "Deployment", "Status", "ErrorCode", "InputTokens", "OutputTokens",
        "Cost", "Currency", "LatencyMs", "TtftMs", "Attempts", "Stream",
    }.Select(n => JsonEncodedText.Encode(n))];

    private static readonly byte[] SimplePrefix = Encoding.UTF8.GetBytes($"info: {AccessLog.Category}[{LogEvents.Access}] ");
    private static readonly byte[] SystemdSeverity = "<6>"u8.ToArray();
    private static readonly byte[] SystemdCategory = Encoding.UTF8.GetBytes($"{AccessLog.Category}[{LogEvents.Access}] ");

    // The JSON console formatter's default writer options (JavaScriptEncoder.Default), so that a line escapes as its others do.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.Default, SkipValidation = true };

    [ThreadStatic] private static Scratch? t_scratch;

    private readonly Stream _output;
    private readonly object _outputLock;
    private readonly AccessLogLayout _layout;
    private readonly string? _timestampFormat;
    private readonly bool _stampPerMillisecond;
    private readonly bool _utc;
    private readonly TimeProvider _time;
    private readonly ILogger? _warnings;

    private readonly object _gate = new();
    private readonly Queue<(byte[] Chunk, int Length)> _full = new();
    private readonly Stack<byte[]> _spare = new();
    private byte[] _active = [];
    private int _used;
    private long _dropped;
    private bool _stopped;

    private readonly object _flushGate = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly ManualResetEventSlim _stop = new(false);
    private Thread? _thread;

    /// <param name="output">Where lines go (the console's standard output stream).</param>
    /// <param name="outputLock">
    /// Held around each write, shared with whoever else writes to <paramref name="output"/>: for the console, the
    /// <see cref="Console.Out"/> writer, whose writes lock on itself, so that a batch never lands inside another logger's line.
    /// </param>
    /// <param name="timestampFormat">The formatter's <c>TimestampFormat</c>; null writes no timestamp, as the formatters do.</param>
    /// <param name="warnings">Where the count of dropped lines is reported.</param>
    public AccessLogWriter(Stream output, AccessLogLayout layout, string? timestampFormat, bool utcTimestamp, TimeProvider? time = null,
        object? outputLock = null, ILogger? warnings = null)
    {
        _output = output;
        _outputLock = outputLock ?? new object();
        _layout = layout;
        _timestampFormat = string.IsNullOrEmpty(timestampFormat) ? null : timestampFormat;
        // A stamp with at most millisecond digits is the same for every line in that millisecond: formatted once.
        _stampPerMillisecond = _timestampFormat is not null && !_timestampFormat.Contains("ffff", StringComparison.Ordinal)
            && !_timestampFormat.Contains("FFFF", StringComparison.Ordinal);
        _utc = utcTimestamp;
        _time = time ?? TimeProvider.System;
        _warnings = warnings;
    }

    /// <summary>Lines dropped because the output did not keep up, since the last report.</summary>
    internal long Dropped => Interlocked.Read(ref _dropped);

    internal void Write(in AccessLine line)
    {
        var scratch = t_scratch ??= new Scratch();
        var bytes = _layout == AccessLogLayout.Json ? FormatJson(scratch, line) : FormatText(scratch, line);
        Append(bytes);
    }

    /// <summary>The line's message, as the <c>[LoggerMessage]</c> renders its template (invariant culture, a null as nothing).</summary>
    internal static string Message(in AccessLine line)
    {
        var scratch = new Scratch();
        WriteMessage(ref scratch.Message, line);
        return Encoding.UTF8.GetString(scratch.Message.Written);
    }

    private ReadOnlySpan<byte> FormatText(Scratch scratch, in AccessLine line)
    {
        ref var b = ref scratch.Line;
        b.Clear();
        if (_layout == AccessLogLayout.Systemd) b.Append(SystemdSeverity);
        if (_timestampFormat is not null) b.Append(Stamp(scratch));
        b.Append(_layout == AccessLogLayout.Systemd ? SystemdCategory : SimplePrefix);
        var start = b.Length;
        WriteMessage(ref b, line);
        // One line, as the formatters keep it: a line break in a value (a model name a client sent) becomes a space.
        b.ReplaceLineBreaks(start);
        b.Append((byte)'\n');
        return b.Written;
    }

    private ReadOnlySpan<byte> FormatJson(Scratch scratch, in AccessLine line)
    {
        ref var message = ref scratch.Message;
        message.Clear();
        WriteMessage(ref message, line);
        var json = scratch.Json;
        json.ResetWrittenCount();
        var w = scratch.JsonWriter;
        w.Reset(json);
        w.WriteStartObject();
        if (_timestampFormat is not null)
        {
            w.WriteString(TimestampName, Stamp(scratch));
        }
        w.WriteNumber(EventIdName, LogEvents.Access);
        w.WriteString(LogLevelName, Information);
        w.WriteString(CategoryName, CategoryValue);
        w.WriteString(MessageName, message.Written);
        w.WriteStartObject(StateName);
        w.WriteString(MessageName, message.Written);
        String(w, 0, line.RequestId);
        String(w, 1, line.KeyId);
        String(w, 2, line.TeamId);
        String(w, 3, line.Endpoint);
        String(w, 4, line.Model);
        String(w, 5, line.Deployment);
        w.WriteNumber(FieldNames[6], line.Status);
        String(w, 7, line.ErrorCode);
        w.WriteNumber(FieldNames[8], line.InputTokens);
        w.WriteNumber(FieldNames[9], line.OutputTokens);
        if (line.Cost is { } cost) w.WriteNumber(FieldNames[10], cost); else w.WriteNull(FieldNames[10]);
        String(w, 11, line.Currency);
        w.WriteNumber(FieldNames[12], line.LatencyMs);
        if (line.TtftMs is { } ttft) w.WriteNumber(FieldNames[13], ttft); else w.WriteNull(FieldNames[13]);
        w.WriteNumber(FieldNames[14], line.Attempts);
        w.WriteBoolean(FieldNames[15], line.Stream);
        w.WriteString(OriginalFormatName, OriginalFormatValue);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
        json.Write("\n"u8);
        return json.WrittenSpan;

        static void String(Utf8JsonWriter w, int field, string? value)
        {
            if (value is null) w.WriteNull(FieldNames[field]);
            else w.WriteString(FieldNames[field], value);
        }
    }

    private static void WriteMessage(ref Utf8Builder b, in AccessLine line)
    {
        b.Append(line.RequestId);
        b.Append(" key="u8); b.Append(line.KeyId);
        b.Append(" team="u8); b.Append(line.TeamId);
        b.Append((byte)' '); b.Append(line.Endpoint);
        b.Append(" model="u8); b.Append(line.Model);
        b.Append(" deployment="u8); b.Append(line.Deployment);
        b.Append(" status="u8); b.Append(line.Status);
        b.Append(" error="u8); b.Append(line.ErrorCode);
        b.Append(" tokens="u8); b.Append(line.InputTokens);
        b.Append((byte)'+'); b.Append(line.OutputTokens);
        b.Append(" cost="u8);
        if (line.Cost is { } cost) b.Append(cost);
        b.Append((byte)' '); b.Append(line.Currency);
        b.Append(" latency_ms="u8); b.Append(line.LatencyMs);
        b.Append(" ttft_ms="u8);
        if (line.TtftMs is { } ttft) b.Append(ttft);
        b.Append(" attempts="u8); b.Append(line.Attempts);
        b.Append(line.Stream ? " stream=True"u8 : " stream=False"u8);
    }

    /// <summary>The line's timestamp, formatted again only when the millisecond (or the zone's offset) changed.</summary>
    private ReadOnlySpan<byte> Stamp(Scratch scratch)
    {
        var now = Now();
        var ms = now.UtcTicks / TimeSpan.TicksPerMillisecond;
        // The scratch is per thread, not per writer: the stamp is this writer's only if it wrote it.
        if (!_stampPerMillisecond || ms != scratch.StampMs || now.Offset != scratch.StampOffset || !ReferenceEquals(scratch.StampWriter, this))
        {
            scratch.Stamp.Clear();
            scratch.Stamp.AppendTimestamp(now, _timestampFormat!);
            scratch.StampMs = _stampPerMillisecond ? ms : -1;
            scratch.StampOffset = now.Offset;
            scratch.StampWriter = this;
        }
        return scratch.Stamp.Written;
    }

    private DateTimeOffset Now() => _utc ? _time.GetUtcNow() : _time.GetLocalNow();

    private void Append(ReadOnlySpan<byte> line)
    {
        bool wake;
        lock (_gate)
        {
            if (_stopped)
            {
                // After shutdown (a request metered while the host was disposing): straight to the output.
                WriteOut(line);
                return;
            }
            // The writer is woken by the first line after it emptied the buffer (it then lets lines gather for the
            // interval) and by each chunk that fills (written at once): a few wake-ups a second, not one per line.
            wake = _used == 0 && _full.Count == 0;
            if (line.Length > _active.Length - _used)
            {
                if (_full.Count >= MaxPendingChunks)
                {
                    _dropped++;
                    return;
                }
                if (_used > 0)
                {
                    _full.Enqueue((_active, _used));
                    wake = true;
                }
                _active = _spare.Count > 0 ? _spare.Pop() : new byte[Math.Max(ChunkBytes, line.Length)];
                if (_active.Length < line.Length) _active = new byte[line.Length];
                _used = 0;
            }
            line.CopyTo(_active.AsSpan(_used));
            _used += line.Length;
            if (_thread is null) Start();
        }
        if (wake) _wake.Set();
    }

    private void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "Sanjia access log" };
        _thread.Start();
        // A process that ends without disposing the host still writes what it has.
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    private void OnProcessExit(object? sender, EventArgs e) => Flush();

    private void Run()
    {
        while (!_stop.IsSet)
        {
            WaitHandle.WaitAny([_wake, _stop.WaitHandle]);
            bool full;
            lock (_gate) full = _full.Count > 0;
            // Let lines gather: one write for everything that arrives in the interval (unless a chunk is full already).
            if (!full) _stop.Wait(FlushInterval);
            Flush();
        }
    }

    /// <summary>Writes every waiting line now.</summary>
    public void Flush()
    {
        lock (_flushGate)
        {
            List<(byte[] Chunk, int Length)> chunks;
            long dropped;
            lock (_gate)
            {
                chunks = [.. _full];
                _full.Clear();
                if (_used > 0)
                {
                    chunks.Add((_active, _used));
                    _active = _spare.Count > 0 ? _spare.Pop() : new byte[ChunkBytes];
                    _used = 0;
                }
                dropped = _dropped;
                _dropped = 0;
            }
            if (chunks.Count == 0 && dropped == 0) return;
            try
            {
                lock (_outputLock)
                {
                    foreach (var (chunk, length) in chunks) _output.Write(chunk, 0, length);
                    _output.Flush();
                }
            }
            catch (IOException)
            {
                // The console went away (a closed pipe): there is nowhere left to write to.
            }
            catch (ObjectDisposedException)
            {
            }
            lock (_gate)
            {
                foreach (var (chunk, _) in chunks)
                {
                    if (chunk.Length == ChunkBytes && _spare.Count < 4) _spare.Push(chunk);
                }
            }
            if (dropped > 0 && _warnings is not null) AccessLogWarnings.LinesDropped(_warnings, dropped);
        }
    }

    private void WriteOut(ReadOnlySpan<byte> line)
    {
        try
        {
            lock (_outputLock)
            {
                _output.Write(line);
                _output.Flush();
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            if (_stopped) return;
            thread = _thread;
        }
        _stop.Set();
        thread?.Join();
        lock (_gate) _stopped = true;
        Flush();
        if (thread is not null) AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
    }

    /// <summary>A thread's buffers, reused for every line it formats.</summary>
    private sealed class Scratch
    {
        public Utf8Builder Line = new(512);
        public Utf8Builder Message = new(384);
        public Utf8Builder Stamp = new(64);
        public long StampMs = -1;
        public TimeSpan StampOffset;
        public AccessLogWriter? StampWriter;
        public readonly ArrayBufferWriter<byte> Json = new(1024);
        public readonly Utf8JsonWriter JsonWriter = new(Stream.Null, JsonOptions);
    }
}

/// <summary>The fields of one access-log line.</summary>
internal readonly record struct AccessLine(string RequestId, string? KeyId, string? TeamId, string? Endpoint, string? Model, string? Deployment, int Status,
    string? ErrorCode, int InputTokens, int OutputTokens, decimal? Cost, string? Currency, double LatencyMs, double? TtftMs, int Attempts, bool Stream);

/// <summary>A growable UTF-8 buffer that formats values as the generated logger's message does (invariant culture, null as nothing).</summary>
internal struct Utf8Builder(int capacity)
{
    private byte[] _buffer = new byte[capacity];
    private int _length;

    public readonly ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public readonly int Length => _length;

    public void Clear() => _length = 0;

    public readonly void ReplaceLineBreaks(int from)
    {
        var span = _buffer.AsSpan(from, _length - from);
        for (var at = span.IndexOfAny((byte)'\n', (byte)'\r'); at >= 0; at = span.IndexOfAny((byte)'\n', (byte)'\r'))
        {
            span[at] = (byte)' ';
            span = span[(at + 1)..];
        }
    }

    public void Append(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void Append(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    public void Append(string? value)
    {
        if (value is null) return;
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    public void Append(int value) => AppendFormatted(value, 11);

    public void Append(double value) => AppendFormatted(value, 32);

    public void Append(decimal value) => AppendFormatted(value, 32);

    public void AppendTimestamp(DateTimeOffset value, string format)
    {
        Ensure(64);
        while (!value.TryFormat(_buffer.AsSpan(_length), out var written, format, CultureInfo.InvariantCulture) || !Advance(written))
        {
            Ensure(_buffer.Length);
        }
    }

    private bool Advance(int written)
    {
        _length += written;
        return true;
    }

    private void AppendFormatted<T>(T value, int most) where T : IUtf8SpanFormattable
    {
        Ensure(most);
        if (!value.TryFormat(_buffer.AsSpan(_length), out var written, default, CultureInfo.InvariantCulture))
        {
            Ensure(256);
            value.TryFormat(_buffer.AsSpan(_length), out written, default, CultureInfo.InvariantCulture);
        }
        _length += written;
    }

    private void Ensure(int more)
    {
        if (_buffer.Length - _length >= more) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
    }
}

internal static partial class AccessLogWarnings
{
    [LoggerMessage(EventId = LogEvents.AccessLinesDropped, Level = LogLevel.Warning,
        Message = "{Count} access-log lines were dropped: the console did not keep up (more than 2 MiB of lines waiting)")]
    public static partial void LinesDropped(ILogger logger, long count);
}
