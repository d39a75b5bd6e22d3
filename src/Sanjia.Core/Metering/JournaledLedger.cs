using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Metering;

/// <summary>
/// The ledger's write path (see docs/decisions/0003-ledger-write-ahead-journal.md). Entries are priced, appended to
/// an append-only journal (a mapped file, <see cref="MappedJournalFile"/>) and, with fsync on, made durable in groups
/// (one copy + msync for everything queued meanwhile);
/// <see cref="RecordDurableAsync"/> completes only then, so the HTTP layer sends the last byte of a response after
/// its ledger entry is safe. The same loop then writes the group to the store in one transaction and empties the
/// journal whenever everything in it is stored. At start-up <see cref="ReplayAsync"/> moves what a killed process
/// left in the journal into the store (idempotently: the store ignores a request id and attempt it already has).
/// Under sustained load the journal is never empty, so it is kept in segments: when the next entry does not fit in
/// the current one (4 MiB) it is sealed (renamed <c>&lt;journal&gt;.&lt;n&gt;</c>) and deleted as soon as every entry
/// in it is stored.
/// </summary>
public sealed partial class JournaledLedger : BackgroundService, ILedger
{
    private const int MaxBatch = 512;
    public const long DefaultSegmentBytes = 4 * 1024 * 1024;
    private const long NotJournaled = -1;
    // Segment = the journal segment the entry was written to (written on the request thread), or NotJournaled.
    private readonly Channel<(LedgerEntry Entry, TaskCompletionSource? Durable, long Segment)> _queue =
        Channel.CreateUnbounded<(LedgerEntry, TaskCompletionSource?, long)>(new UnboundedChannelOptions { SingleReader = true });
    // Entries journaled but not yet stored, by segment (under _journalLock).
    private readonly Dictionary<long, int> _outstanding = [];
    private readonly List<(LedgerEntry Entry, TaskCompletionSource? Durable, long Segment)> _batch = new(MaxBatch);
    private readonly List<LedgerEntry> _entries = new(MaxBatch);
    private long _segment;
    private readonly Lock _journalLock = new();
    private readonly ILedgerStore _store;
    private readonly Pricer _pricer;
    private readonly string _journalPath;
    private readonly bool _fsync;
    private readonly ILogger<JournaledLedger> _logger;
    private MappedJournalFile? _journal;
    // Streams in flight: their latest start or progress line, written again at the head of each fresh segment (and
    // after the journal is emptied) so that deleting stored segments never loses one (under _journalLock).
    private readonly Dictionary<(string RequestId, int Attempt, string Endpoint), LedgerEntry> _inFlight = [];
    private readonly ArrayBufferWriter<byte> _inFlightLines = new(1024);
    private readonly ArrayBufferWriter<byte> _carried = new(1024);
    // The journal lines being written (under _journalLock): one buffer and one JSON writer for the process.
    private ArrayBufferWriter<byte> _lines = new(4096);
    private Utf8JsonWriter? _json;
    // Entries the store refused (after a batch's retries) and their segments, retried by the writer loop until the
    // store takes them; their segments' counts stay above zero until then, so only those segments wait. Only the
    // writer loop touches it (one drain at a time). Past MaxUnstored the rest wait in the journal for the next start.
    private readonly List<(LedgerEntry Entry, long Segment)> _unstored = [];
    private const int MaxUnstored = 100_000;
    private long _retryDueTicks;
    private TimeSpan _retryDelay = FirstRetryDelay;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1), MaxRetryDelay = TimeSpan.FromSeconds(30);
    // Entries ever recorded and ever taken off the queue (stored, refused into _unstored, or dropped): their difference
    // is what is pending; FlushAsync waits for the second to reach what the first was when it was called, so steady
    // traffic after the call cannot hold it.
    private long _recorded, _processed;
    private readonly TimeSpan _batchWindow;
    private readonly long _segmentBytes;
    private readonly TimeSpan _flushWait;

    /// <summary>
    /// How long <see cref="FlushAsync"/> waits at the most. A healthy store takes a batch in milliseconds; one that
    /// hangs (a database that does not answer) must not hold every report and budget load behind it.
    /// </summary>
    public static readonly TimeSpan DefaultFlushWait = TimeSpan.FromSeconds(5);

    /// <param name="batchWindow">
    /// How long the writer lets rows gather after the first one arrives before it stores them (without fsync only:
    /// the rows are already in the journal, so nothing waits on it but the store). A remote store pays per statement
    /// (a round trip, parsing, a commit); at a few thousand requests per second a batch would otherwise hold a row or
    /// two. Zero: store at once (the in-process SQLite store).
    /// </param>
    /// <param name="flushWait">The most <see cref="FlushAsync"/> waits (null: <see cref="DefaultFlushWait"/>).</param>
    public JournaledLedger(ILedgerStore store, Pricer pricer, string journalPath, bool fsync, ILogger<JournaledLedger> logger,
        long segmentBytes = DefaultSegmentBytes, TimeSpan batchWindow = default, TimeSpan? flushWait = null)
    {
        _batchWindow = fsync ? TimeSpan.Zero : batchWindow;
        _flushWait = flushWait ?? DefaultFlushWait;
        _segmentBytes = segmentBytes;
        _store = store;
        _pricer = pricer;
        _journalPath = journalPath;
        _fsync = fsync;
        _logger = logger;
    }

    public string JournalPath => _journalPath;

    public long Pending => Interlocked.Read(ref _recorded) - Interlocked.Read(ref _processed);

    /// <summary>The status of an in-flight line: a stream that had begun; never stored as such.</summary>
    public const int InFlightStatus = 0;

    /// <summary>What a stream left in flight by a killed process is stored as, with the tokens of its last progress line.</summary>
    public const int InterruptedStatus = 500;
    public const string InterruptedCode = "gateway_interrupted";

    public void Record(LedgerEntry entry) => Enqueue(entry, null);

    /// <summary>
    /// Appends a stream's start or progress line to the journal (one more copy into the mapped segment, no system
    /// call), so that replay after a kill stores the stream with the tokens known so far (<see cref="InterruptedCode"/>).
    /// The stream's own row replaces it: the line is dropped from the in-flight set when that row is journaled.
    /// </summary>
    public void RecordInFlight(LedgerEntry entry)
    {
        var priced = _pricer.Price(entry);
        try
        {
            lock (_journalLock)
            {
                _inFlight[(priced.RequestId, priced.Attempt, priced.Endpoint)] = priced;
                _inFlightLines.ResetWrittenCount();
                Serialize(_inFlightLines, priced);
                AppendLocked(_inFlightLines.WrittenSpan);
            }
        }
        catch (Exception ex)
        {
            LogJournalFailed(_logger, ex, 1); // the stream goes on; only its kill-time row is at risk
        }
    }

    public ValueTask RecordDurableAsync(LedgerEntry entry)
    {
        if (!_fsync)
        {
            // Surviving a killed process only needs the bytes in the kernel's pages: copy the journal line into the
            // mapped segment here, under a lock, and answer at once (a hand-off to the writer loop would cost more).
            var priced = _pricer.Price(entry);
            Interlocked.Increment(ref _recorded);
            var segment = NotJournaled;
            try
            {
                lock (_journalLock)
                {
                    segment = WriteJournalLocked([priced]);
                }
            }
            catch (Exception ex)
            {
                LogJournalFailed(_logger, ex, 1); // the store below is still tried: the response must not hang
            }
            if (!_queue.Writer.TryWrite((priced, null, segment)))
            {
                Interlocked.Increment(ref _processed);
                LogDropped(_logger, entry.RequestId);
            }
            return ValueTask.CompletedTask;
        }
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(entry, tcs);
        return new ValueTask(tcs.Task);
    }

    private void Enqueue(LedgerEntry entry, TaskCompletionSource? durable)
    {
        Interlocked.Increment(ref _recorded);
        if (!_queue.Writer.TryWrite((_pricer.Price(entry), durable, NotJournaled)))
        {
            Interlocked.Increment(ref _processed);
            LogDropped(_logger, entry.RequestId);
            durable?.TrySetResult();
        }
    }

    /// <summary>
    /// Waits until everything recorded before the call has been offered to the store (reports, budgets loading spend,
    /// tests): the batches are taken in order, so it is enough that as many entries have been taken off the queue as had
    /// been recorded. What is recorded after the call does not hold it (under steady traffic the queue is never empty).
    /// Bounded: after the flush wait (5 s by default) it gives up, logs it and returns false, so a store that hangs
    /// makes readers see what is stored so far instead of holding them; the caller's token can end it sooner.
    /// </summary>
    /// <returns>True when everything recorded before the call was offered to the store; false when the wait ran out.</returns>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Interlocked.Read(ref _recorded);
        var deadline = Environment.TickCount64 + (long)_flushWait.TotalMilliseconds;
        while (Interlocked.Read(ref _processed) < target)
        {
            if (Environment.TickCount64 >= deadline)
            {
                LogFlushGaveUp(_logger, target - Interlocked.Read(ref _processed), _flushWait.TotalSeconds);
                return false;
            }
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Stores whatever a previous process journaled but did not store; returns how many entries were replayed.</summary>
    public async Task<int> ReplayAsync(CancellationToken cancellationToken)
    {
        var files = JournalFiles();
        if (files.Count == 0)
        {
            return 0;
        }
        var entries = new List<LedgerEntry>();
        var inFlight = new Dictionary<(string, int, string), LedgerEntry>();
        foreach (var file in files)
        {
            var content = MappedJournalFile.Content(await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false));
            while (!content.IsEmpty)
            {
                var end = content.IndexOf((byte)'\n');
                var line = end < 0 ? content : content[..end];
                content = end < 0 ? [] : content[(end + 1)..];
                if (line.IsEmpty) continue;
                try
                {
                    if (JsonSerializer.Deserialize(line, JournalJson.Default.LedgerEntry) is { } e)
                    {
                        if (e.Status == InFlightStatus) inFlight[(e.RequestId, e.Attempt, e.Endpoint)] = e; // the latest progress wins
                        else entries.Add(e);
                    }
                }
                catch (JsonException)
                {
                    // A torn last line: its response never completed (the write finishes before the response does).
                }
            }
        }
        // Streams whose row never came: stored with the tokens of their last line. A row that did come but whose
        // journal segment was already deleted is in the store, and the insert-once key keeps it (INSERT OR IGNORE).
        foreach (var e in entries) inFlight.Remove((e.RequestId, e.Attempt, e.Endpoint));
        foreach (var e in inFlight.Values) entries.Add(e with { Status = InterruptedStatus, ErrorCode = InterruptedCode });
        if (inFlight.Count > 0) LogInterrupted(_logger, inFlight.Count);
        for (var i = 0; i < entries.Count; i += MaxBatch)
        {
            await _store.AppendAsync(entries.GetRange(i, Math.Min(MaxBatch, entries.Count - i)), cancellationToken).ConfigureAwait(false);
        }
        foreach (var file in files) File.Delete(file);
        if (entries.Count > 0) LogReplayed(_logger, entries.Count);
        return entries.Count;
    }

    /// <summary>Sealed segments (oldest first), then the current journal.</summary>
    private List<string> JournalFiles()
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(_journalPath))!;
        var name = Path.GetFileName(_journalPath);
        var sealedSegments = new SortedList<long, string>();
        foreach (var file in Directory.Exists(dir) ? Directory.EnumerateFiles(dir, name + ".*") : [])
        {
            // "<journal>.<n>"; the pattern also matches the journal itself, which has no number.
            if (long.TryParse(Path.GetExtension(file).TrimStart('.'), out var n) && Path.GetFileName(file) == $"{name}.{n}")
            {
                sealedSegments.Add(n, file);
            }
        }
        var files = sealedSegments.Values.ToList();
        if (File.Exists(_journalPath)) files.Add(_journalPath);
        return files;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await WaitForWorkAsync(reader, stoppingToken).ConfigureAwait(false))
            {
                if (_batchWindow > TimeSpan.Zero) await Task.Delay(_batchWindow, stoppingToken).ConfigureAwait(false);
                await DrainAsync().ConfigureAwait(false);
                if (_unstored.Count > 0 && Environment.TickCount64 >= _retryDueTicks) await RetryUnstoredAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Waits for new entries, or (with refused entries waiting) until their next retry is due; false once the queue is closed.</summary>
    private async ValueTask<bool> WaitForWorkAsync(ChannelReader<(LedgerEntry, TaskCompletionSource?, long)> reader, CancellationToken stoppingToken)
    {
        if (_unstored.Count == 0) return await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false);
        using var due = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        due.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, _retryDueTicks - Environment.TickCount64)));
        try
        {
            return await reader.WaitToReadAsync(due.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return true; // the retry is due
        }
    }

    /// <summary>
    /// Offers the refused entries to the store again, a batch at a time (one try each: the store already had a batch's
    /// retries). Stored ones release their segments, which are then reclaimed; on a failure the next try waits twice as
    /// long (1 s up to 30 s), or less when a new batch is stored first (the store is back).
    /// </summary>
    private async Task RetryUnstoredAsync()
    {
        while (_unstored.Count > 0)
        {
            var n = Math.Min(MaxBatch, _unstored.Count);
            _entries.Clear();
            for (var i = 0; i < n; i++) _entries.Add(_unstored[i].Entry);
            try
            {
                await _store.AppendAsync(_entries, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogRetry(_logger, ex, n, 0);
                _retryDueTicks = Environment.TickCount64 + (long)_retryDelay.TotalMilliseconds;
                _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
                return;
            }
            lock (_journalLock)
            {
                for (var i = 0; i < n; i++) Release(_unstored[i].Segment);
                _unstored.RemoveRange(0, n);
                ReclaimLocked();
            }
            LogStoredLate(_logger, n);
        }
        _retryDelay = FirstRetryDelay;
    }

    private void Release(long segment)
    {
        if (segment != NotJournaled && _outstanding.TryGetValue(segment, out var n)) _outstanding[segment] = n - 1;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await DrainAsync().ConfigureAwait(false);
        if (_unstored.Count > 0) await RetryUnstoredAsync().ConfigureAwait(false); // what still fails waits in the journal for the next start
        lock (_journalLock)
        {
            _journal?.Dispose();
            _journal = null;
        }
    }

    private async Task DrainAsync()
    {
        var reader = _queue.Reader;
        // One drain runs at a time (the writer loop, or StopAsync after it), so the batch lists are reused.
        var batch = _batch;
        var entries = _entries;
        while (true)
        {
            batch.Clear();
            entries.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
            }
            if (batch.Count == 0)
            {
                return;
            }
            try
            {
                foreach (var b in batch)
                {
                    if (b.Segment == NotJournaled) entries.Add(b.Entry);
                }
                if (entries.Count > 0)
                {
                    lock (_journalLock)
                    {
                        var segment = WriteJournalLocked(entries);
                        for (var i = 0; i < batch.Count; i++)
                        {
                            if (batch[i].Segment == NotJournaled) batch[i] = batch[i] with { Segment = segment };
                        }
                    }
                }
            }
            catch (Exception ex)
            {
                LogJournalFailed(_logger, ex, batch.Count); // the store below is still tried: the response must not hang
            }
            foreach (var (_, durable, _) in batch) durable?.TrySetResult();
            entries.Clear();
            foreach (var b in batch) entries.Add(b.Entry);
            var stored = false;
            for (var attempt = 1; attempt <= 5 && !stored; attempt++)
            {
                try
                {
                    await _store.AppendAsync(entries, CancellationToken.None).ConfigureAwait(false);
                    stored = true;
                }
                catch (Exception ex)
                {
                    LogRetry(_logger, ex, entries.Count, attempt);
                    await Task.Delay(100 * attempt).ConfigureAwait(false);
                }
            }
            if (stored)
            {
                _retryDueTicks = 0; // the store is back: refused entries are offered again after this drain
            }
            else
            {
                LogKeptInJournal(_logger, entries.Count);
                foreach (var (entry, _, segment) in batch)
                {
                    if (_unstored.Count < MaxUnstored) _unstored.Add((entry, segment));
                }
                _retryDueTicks = Environment.TickCount64 + (long)_retryDelay.TotalMilliseconds;
            }
            Interlocked.Add(ref _processed, batch.Count);
            lock (_journalLock)
            {
                if (stored)
                {
                    foreach (var (_, _, segment) in batch) Release(segment);
                }
                ReclaimLocked();
            }
        }
    }

    /// <summary>
    /// Deletes sealed segments whose entries are all stored and empties a stored current one. A segment holding an
    /// entry the store refused keeps a count above zero, so it alone waits (for the retry, or the next start's replay).
    /// </summary>
    private void ReclaimLocked()
    {
        foreach (var (segment, n) in _outstanding.ToList())
        {
            if (n > 0) continue;
            if (segment != _segment)
            {
                File.Delete(SegmentPath(segment));
                _outstanding.Remove(segment);
            }
            else if (_journal is not null && Pending == 0)
            {
                _journal.Clear(); // everything journaled is stored (an entry counts as pending before it is journaled)
                CarryInFlightLocked();
            }
        }
    }

    private string SegmentPath(long segment) => _journalPath + "." + segment.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Appends the entries to the current segment (sealing it first when they do not fit) and returns its number.</summary>
    private long WriteJournalLocked(IReadOnlyList<LedgerEntry> entries)
    {
        _lines.ResetWrittenCount();
        foreach (var entry in entries)
        {
            Serialize(_lines, entry);
            if (_inFlight.Count > 0) _inFlight.Remove((entry.RequestId, entry.Attempt, entry.Endpoint)); // its row replaces its in-flight line
        }
        AppendLocked(_lines.WrittenSpan);
        if (_fsync) _journal!.Flush();
        _outstanding[_segment] = _outstanding.GetValueOrDefault(_segment) + entries.Count;
        if (_lines.Capacity > 256 * 1024) _lines = new(4096); // one huge batch must not keep its buffer
        return _segment;
    }

    /// <summary>One journal line: the entry's JSON and a newline.</summary>
    private void Serialize(ArrayBufferWriter<byte> lines, LedgerEntry entry)
    {
        if (_json is null) _json = new Utf8JsonWriter(lines);
        else _json.Reset(lines);
        JsonSerializer.Serialize(_json, entry, JournalJson.Default.LedgerEntry);
        _json.Flush();
        lines.GetSpan(1)[0] = (byte)'\n';
        lines.Advance(1);
    }

    /// <summary>Appends lines to the current segment, sealing it first when they do not fit.</summary>
    private void AppendLocked(ReadOnlySpan<byte> bytes)
    {
        _journal ??= OpenJournal(bytes.Length);
        if (!_journal.TryAppend(bytes))
        {
            // Full: seal it (renamed <journal>.<n>, deleted once all its entries are stored) and start the next one,
            // headed by the streams still in flight (their lines in the sealed segment may be deleted before they end).
            var full = _journal;
            _journal = null;
            full.Seal(SegmentPath(_segment));
            _segment++;
            var carried = InFlightLinesLocked();
            _journal = OpenJournal(carried.Length + bytes.Length);
            _journal.TryAppend(carried);
            _journal.TryAppend(bytes);
        }
    }

    /// <summary>Writes the in-flight lines at the head of the just emptied journal.</summary>
    private void CarryInFlightLocked()
    {
        if (_inFlight.Count > 0) _journal?.TryAppend(InFlightLinesLocked());
    }

    /// <summary>The latest line of every stream in flight (a few hundred bytes each).</summary>
    private ReadOnlySpan<byte> InFlightLinesLocked()
    {
        _carried.ResetWrittenCount();
        foreach (var e in _inFlight.Values) Serialize(_carried, e);
        return _carried.WrittenSpan;
    }

    private MappedJournalFile OpenJournal(int room)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_journalPath))!);
        while (File.Exists(SegmentPath(_segment)))
        {
            _segment++; // sealed segments a previous process left (not replayed yet): never overwrite them
        }
        return MappedJournalFile.Open(_journalPath, Math.Max(_segmentBytes, room + 2L), _fsync);
    }

    [LoggerMessage(EventId = LogEvents.LedgerEntryDropped, Level = LogLevel.Error, Message = "Ledger queue closed; entry for request {RequestId} not recorded")]
    private static partial void LogDropped(ILogger logger, string requestId);

    [LoggerMessage(EventId = LogEvents.LedgerRetry, Level = LogLevel.Warning, Message = "Writing {Count} ledger entries failed (attempt {Attempt}); retrying")]
    private static partial void LogRetry(ILogger logger, Exception ex, int count, int attempt);

    [LoggerMessage(EventId = LogEvents.LedgerKeptInJournal, Level = LogLevel.Error, Message = "Writing {Count} ledger entries to the store failed; they stay in the journal and are offered again until the store takes them (or replayed at next start)")]
    private static partial void LogKeptInJournal(ILogger logger, int count);

    [LoggerMessage(EventId = LogEvents.LedgerJournalFailed, Level = LogLevel.Critical, Message = "Appending {Count} entries to the ledger journal failed")]
    private static partial void LogJournalFailed(ILogger logger, Exception ex, int count);

    [LoggerMessage(EventId = LogEvents.LedgerStreamsInterrupted, Level = LogLevel.Warning, Message = "{Count} streams were in flight when the previous process stopped; recorded with the tokens known so far ({Code})")]
    private static partial void LogInterruptedCore(ILogger logger, int count, string code);

    private static void LogInterrupted(ILogger logger, int count) => LogInterruptedCore(logger, count, InterruptedCode);

    [LoggerMessage(EventId = LogEvents.LedgerStoredLate, Level = LogLevel.Information, Message = "Stored {Count} ledger entries the store had refused before")]
    private static partial void LogStoredLate(ILogger logger, int count);

    [LoggerMessage(EventId = LogEvents.LedgerFlushGaveUp, Level = LogLevel.Warning,
        Message = "{Count} ledger entries were still not offered to the store after {Seconds} s (is it answering?); read what it holds so far")]
    private static partial void LogFlushGaveUp(ILogger logger, long count, double seconds);

    [LoggerMessage(EventId = LogEvents.LedgerReplayed, Level = LogLevel.Information, Message = "Replayed {Count} ledger entries from the journal")]
    private static partial void LogReplayed(ILogger logger, int count);
}

[JsonSerializable(typeof(LedgerEntry))]
internal sealed partial class JournalJson : JsonSerializerContext;
