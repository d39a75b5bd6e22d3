using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Tests.Metering;

/// <summary>
/// The ledger journal under sustained load: it is never empty, so it must be cut into segments that are deleted once
/// stored (bounded disk), and whatever the store did not take must survive for replay.
/// </summary>
public sealed class JournalSegmentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-journal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string JournalPath => Path.Combine(_dir, "ledger.journal");

    private string[] Segments() => [.. Directory.GetFiles(_dir).Where(f => Path.GetFileName(f).StartsWith("ledger.journal.", StringComparison.Ordinal))];

    private static LedgerEntry Entry(int i) => new()
    {
        RequestId = "req-" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture), Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(i),
        Endpoint = "chat", Model = "m", Status = 200, Usage = new TokenUsage(10, 5),
    };

    private JournaledLedger Ledger(ILedgerStore store, TimeSpan? flushWait = null) =>
        new(store, new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions()), JournalPath, fsync: false, NullLogger<JournaledLedger>.Instance, segmentBytes: 2048,
            flushWait: flushWait);

    /// <summary>Slow enough that new entries always arrive while a batch is being stored; notes when sealed segments exist.</summary>
    private sealed class SlowStore(JournalSegmentTests owner, int delayMs = 3) : ILedgerStore
    {
        public readonly ConcurrentDictionary<string, int> Stored = new();
        public int MostSegmentsSeen;

        public async Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
        {
            MostSegmentsSeen = Math.Max(MostSegmentsSeen, owner.Segments().Length);
            await Task.Delay(delayMs, cancellationToken);
            foreach (var e in entries) Stored.AddOrUpdate(e.RequestId, 1, (_, n) => n + 1);
        }

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }

    private sealed class FailingStore : ILedgerStore
    {
        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken) => throw new IOException("disk full");

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }

    [Fact]
    public async Task Under_sustained_load_sealed_segments_are_deleted_once_stored_and_every_entry_is_stored_once()
    {
        var store = new SlowStore(this);
        var ledger = Ledger(store);
        await ledger.StartAsync(CancellationToken.None);
        // Four writers, never pausing together, so the journal is never empty while they run.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = w; i < 400; i += 4)
            {
                await ledger.RecordDurableAsync(Entry(i));
                if (i % 16 == w) await Task.Delay(1);
            }
        })));
        await ledger.FlushAsync();
        await ledger.StopAsync(CancellationToken.None);

        Assert.Equal(400, store.Stored.Count);
        Assert.All(store.Stored.Values, n => Assert.Equal(1, n));
        Assert.True(store.MostSegmentsSeen >= 1, "the journal was never sealed into a segment under load");
        Assert.Empty(Segments());
        Assert.Equal(0, await Ledger(new SlowStore(this)).ReplayAsync(CancellationToken.None)); // nothing stored is left to replay
    }

    [Fact]
    public async Task A_flush_under_steady_traffic_returns_once_what_was_recorded_before_it_is_stored()
    {
        // 20 ms a batch: entries keep arriving while each is stored, so the queue is never empty while the writer runs.
        var store = new SlowStore(this, delayMs: 20);
        var ledger = Ledger(store);
        await ledger.StartAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var next = 0;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await ledger.RecordDurableAsync(Entry(Interlocked.Increment(ref next)));
                if (Volatile.Read(ref next) % 8 == 0) await Task.Delay(1);
            }
        });
        await Task.Delay(100);
        var before = Volatile.Read(ref next);

        var flush = ledger.FlushAsync();
        var finished = await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(30)));
        var storedAtFlush = store.Stored.Keys.ToHashSet();
        var recordedAtFlush = Volatile.Read(ref next);
        await stop.CancelAsync();
        await writer;
        await ledger.FlushAsync();
        await ledger.StopAsync(CancellationToken.None);

        Assert.Same(flush, finished); // it did not wait for the traffic to stop
        Assert.True(recordedAtFlush > before, "nothing was recorded while the flush waited: it was not tested under traffic");
        var missing = Enumerable.Range(1, before).Where(i => !storedAtFlush.Contains(Entry(i).RequestId)).ToList();
        Assert.True(missing.Count == 0, $"recorded before the flush but not stored when it returned: {missing.Count} entries");
        Assert.Equal(Volatile.Read(ref next), store.Stored.Count); // and the rest at the stop
    }

    private sealed class CountingStore : ILedgerStore
    {
        public readonly ConcurrentQueue<int> Batches = new();

        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
        {
            Batches.Enqueue(entries.Count);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }

    [Fact]
    public async Task With_a_batch_window_rows_arriving_one_by_one_reach_the_store_together()
    {
        var store = new CountingStore();
        var ledger = new JournaledLedger(store, new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions()), JournalPath, fsync: false,
            NullLogger<JournaledLedger>.Instance, batchWindow: TimeSpan.FromSeconds(1));
        await ledger.StartAsync(CancellationToken.None);
        // Twenty rows, a millisecond or so apart, as requests end on a busy gateway: well inside one window.
        for (var i = 0; i < 20; i++)
        {
            await ledger.RecordDurableAsync(Entry(i));
            await Task.Delay(1);
        }
        await ledger.FlushAsync();
        await ledger.StopAsync(CancellationToken.None);

        Assert.Equal(20, store.Batches.Sum());
        Assert.True(store.Batches.Count <= 2, $"the store was called {store.Batches.Count} times: {string.Join(", ", store.Batches)}");
    }

    /// <summary>A store that takes a batch and never commits it (a database that stopped answering), until released.</summary>
    private sealed class HungStore : ILedgerStore
    {
        private readonly TaskCompletionSource _committed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken) => _committed.Task;

        public void Release() => _committed.TrySetResult();

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_flush_waiting_on_a_store_that_never_commits_gives_up_after_its_wait_and_a_callers_token_ends_it_sooner()
    {
        var store = new HungStore();
        var ledger = Ledger(store, flushWait: TimeSpan.FromMilliseconds(500));
        await ledger.StartAsync(CancellationToken.None);
        await ledger.RecordDurableAsync(Entry(1)); // answered at once: the row is in the journal

        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(await ledger.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30))); // it used to wait for as long as the store hung
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(450), $"gave up after {watch.Elapsed.TotalMilliseconds} ms");

        using (var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
        {
            watch.Restart();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ledger.FlushAsync(caller.Token));
            Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(450), $"cancelled after {watch.Elapsed.TotalMilliseconds} ms");
        }

        // The store answers again: a flush waits for the row and says so, as before.
        store.Release();
        Assert.True(await ledger.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, ledger.Pending);
        await ledger.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Entries_the_store_refused_stay_in_the_segments_and_are_replayed_at_the_next_start()
    {
        var failing = Ledger(new FailingStore());
        await failing.StartAsync(CancellationToken.None);
        for (var i = 0; i < 60; i++)
        {
            await failing.RecordDurableAsync(Entry(i));
        }
        // The writer retries each batch five times; wait until it has given up on all of them.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (failing.Pending > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await failing.StopAsync(CancellationToken.None);
        Assert.Equal(0, failing.Pending);

        var store = new SlowStore(this);
        var replayed = await Ledger(store).ReplayAsync(CancellationToken.None);
        Assert.Equal(60, replayed);
        Assert.Equal(60, store.Stored.Count);
        Assert.Empty(Segments());
        Assert.False(File.Exists(JournalPath));
    }

    /// <summary>Refuses the first <paramref name="failures"/> writes (one batch's retries: an outage), then stores like <see cref="SlowStore"/>.</summary>
    private sealed class FlakyStore(JournalSegmentTests owner, int failures) : ILedgerStore
    {
        public readonly SlowStore Inner = new(owner);
        private int _calls;

        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _calls) <= failures ? throw new IOException("connection refused") : Inner.AppendAsync(entries, cancellationToken);

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }

    [Fact]
    public async Task After_a_transient_store_failure_the_refused_entries_are_stored_once_and_every_segment_is_reclaimed()
    {
        // Five refusals = every try of the first batch: before, that one failure kept every segment until a restart.
        var store = new FlakyStore(this, failures: 5);
        var ledger = Ledger(store);
        await ledger.StartAsync(CancellationToken.None);
        for (var i = 0; i < 20; i++) await ledger.RecordDurableAsync(Entry(i));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ledger.Pending > 0 && DateTime.UtcNow < deadline) await Task.Delay(20); // the first batch given up on
        // More traffic after the store is back, enough to seal segments (2 KiB each) past the one with refused entries.
        for (var i = 20; i < 300; i++) await ledger.RecordDurableAsync(Entry(i));
        await ledger.FlushAsync();
        while (store.Inner.Stored.Count < 300 && DateTime.UtcNow < deadline) await Task.Delay(20); // the refused ones, retried
        while (Segments().Length > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);

        Assert.Equal(300, store.Inner.Stored.Count);
        Assert.All(store.Inner.Stored.Values, n => Assert.Equal(1, n));
        Assert.True(store.Inner.MostSegmentsSeen >= 1, "the journal was never sealed into a segment");
        Assert.Empty(Segments()); // reclaimed while running, no restart needed
        await ledger.StopAsync(CancellationToken.None);
        Assert.Equal(0, await Ledger(new SlowStore(this)).ReplayAsync(CancellationToken.None)); // nothing left to replay
    }

    private sealed class ListStore : ILedgerStore
    {
        public readonly List<LedgerEntry> Entries = [];

        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
        {
            Entries.AddRange(entries);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }

    [Fact]
    public async Task A_stream_in_flight_outlives_segment_reclaim_and_is_replayed_as_interrupted_with_its_latest_tokens()
    {
        var store = new SlowStore(this);
        var ledger = Ledger(store);
        await ledger.StartAsync(CancellationToken.None);
        var running = Entry(9000) with { Status = JournaledLedger.InFlightStatus, Usage = new TokenUsage(10, 0, Estimated: true) };
        ledger.RecordInFlight(running);
        ledger.RecordInFlight(Entry(9001) with { Status = JournaledLedger.InFlightStatus });
        for (var i = 0; i < 400; i++)
        {
            await ledger.RecordDurableAsync(Entry(i));
            if (i == 200) ledger.RecordInFlight(running with { Usage = new TokenUsage(10, 42, Estimated: true) }); // progress
        }
        await ledger.RecordDurableAsync(Entry(9001)); // this stream ended: its row replaces its line
        await ledger.FlushAsync();
        await ledger.StopAsync(CancellationToken.None);
        Assert.True(store.MostSegmentsSeen >= 1, "the journal was never sealed into a segment");
        Assert.Empty(Segments()); // the sealed segments were deleted; the running stream's line was carried forward
        Assert.False(store.Stored.ContainsKey("req-09000")); // never stored as a row while running

        var replayed = new ListStore();
        await Ledger(replayed).ReplayAsync(CancellationToken.None);
        var row = Assert.Single(replayed.Entries);
        Assert.Equal("req-09000", row.RequestId);
        Assert.Equal(JournaledLedger.InterruptedStatus, row.Status);
        Assert.Equal(JournaledLedger.InterruptedCode, row.ErrorCode);
        Assert.Equal(42, row.Usage.Output);
    }
}
