using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Tests.Metering;

/// <summary>
/// The ledger journal carries a row's guardrail decisions and image count to the store, a replay after an outage
/// included; a row without them journals the same line as before they existed.
/// </summary>
public sealed class JournalColumnsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-journal-columns-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private JournaledLedger Ledger(ILedgerStore store) =>
        new(store, new Pricer(PriceCatalogue.LoadBuiltIn(), new SanjiaOptions()), Path.Combine(_dir, "ledger.journal"), fsync: false, NullLogger<JournaledLedger>.Instance);

    private sealed class Store(bool fail) : ILedgerStore
    {
        public readonly ConcurrentQueue<LedgerEntry> Stored = new();

        public Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
        {
            if (fail) throw new IOException("disk full");
            foreach (var e in entries) Stored.Enqueue(e);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
    }

    private static LedgerEntry Entry(string id) => new()
    {
        RequestId = id, Timestamp = DateTimeOffset.UnixEpoch, Endpoint = "/v1/chat/completions", Model = "m", Status = 200, Usage = new TokenUsage(10, 5),
    };

    [Fact]
    public async Task Guardrail_decisions_and_image_counts_survive_the_journal_and_plain_rows_journal_neither_field()
    {
        var guarded = Entry("guarded") with
        {
            Status = 400, ErrorCode = "guardrail_blocked",
            Guardrails = GuardrailDecision.Format([new(GuardrailDecision.Input, "pii.cn_mobile", "block", "strict")]),
        };
        var image = Entry("image") with { Endpoint = "/v1/images/generations", Images = 2 };
        var failing = Ledger(new Store(fail: true));
        await failing.StartAsync(CancellationToken.None);
        foreach (var e in new[] { Entry("plain"), guarded, image }) await failing.RecordDurableAsync(e);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (failing.Pending > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await failing.StopAsync(CancellationToken.None);

        var journal = string.Concat(Directory.GetFiles(_dir).Select(f => File.ReadAllText(f, Encoding.UTF8)));
        Assert.Equal(1, Count(journal, "\"Guardrails\":"));
        Assert.Equal(1, Count(journal, "\"Images\":"));

        var store = new Store(fail: false);
        Assert.Equal(3, await Ledger(store).ReplayAsync(CancellationToken.None));
        Assert.Equal(
            [("plain", (string?)null, (int?)null), ("guarded", guarded.Guardrails, null), ("image", null, 2)],
            store.Stored.OrderBy(e => e.RequestId == "plain" ? 0 : e.RequestId == "guarded" ? 1 : 2).Select(e => (e.RequestId, e.Guardrails, e.Images)));
    }

    [Fact]
    public async Task The_evaluation_mark_survives_the_journal_and_other_rows_journal_without_it()
    {
        var failing = Ledger(new Store(fail: true));
        await failing.StartAsync(CancellationToken.None);
        foreach (var e in new[] { Entry("production"), Entry("evaluation") with { Evaluation = true } }) await failing.RecordDurableAsync(e);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (failing.Pending > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await failing.StopAsync(CancellationToken.None);

        var journal = string.Concat(Directory.GetFiles(_dir).Select(f => File.ReadAllText(f, Encoding.UTF8)));
        Assert.Equal(1, Count(journal, "\"Evaluation\":"));

        var store = new Store(fail: false);
        Assert.Equal(2, await Ledger(store).ReplayAsync(CancellationToken.None));
        Assert.Equal([("evaluation", true), ("production", false)], store.Stored.OrderBy(e => e.RequestId).Select(e => (e.RequestId, e.Evaluation)));
    }

    private static int Count(string text, string what)
    {
        var n = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
