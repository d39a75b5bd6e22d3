using System.Collections.Concurrent;
using Sanjia.Abstractions;

namespace Sanjia.Testing;

/// <summary>A ledger that keeps every entry in memory, in order.</summary>
public sealed class RecordingLedger : ILedger
{
    public ConcurrentQueue<LedgerEntry> Entries { get; } = new();

    public void Record(LedgerEntry entry) => Entries.Enqueue(entry);
}
