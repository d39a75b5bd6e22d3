using Sanjia.Abstractions;

namespace Sanjia.Core.Caching;

/// <summary>
/// The response cache's entries, in memory: a map from key to entry plus a recency list, under one lock (a hit holds
/// it for a dictionary lookup and two pointer moves). Entries expire after their policy's TTL on the injected clock;
/// when the stored answers exceed <see cref="MaxBytes"/>, the least recently used are evicted first. An answer larger
/// than the whole limit is never stored. With a <see cref="Shared"/> tier (Redis), a miss here asks it and keeps what
/// it finds, and every answer stored here is given to it too.
/// </summary>
public sealed class ResponseCache(long maxBytes, TimeProvider time)
{
    /// <summary>The tier shared by every instance, or null (the default): in memory only. Set once, before serving (RedisSetup).</summary>
    public ISharedResponseCache? Shared { get; set; }

    private readonly Dictionary<UInt128, LinkedListNode<CacheEntry>> _map = [];
    private readonly LinkedList<CacheEntry> _recency = new(); // most recently used first
    private readonly Lock _gate = new();
    private long _bytes;

    public long MaxBytes => maxBytes;

    public TimeProvider Time => time;

    /// <summary>The bytes the entries hold now.</summary>
    public long Bytes
    {
        get { lock (_gate) return _bytes; }
    }

    public int Count
    {
        get { lock (_gate) return _map.Count; }
    }

    /// <summary>The live entry under <paramref name="key"/>, now the most recently used; an expired one is dropped.</summary>
    public CacheEntry? Get(UInt128 key)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (!_map.TryGetValue(key, out var node))
            {
                return null;
            }
            if (time.GetElapsedTime(node.Value.StoredAt, now) >= node.Value.Ttl)
            {
                RemoveLocked(node);
                return null;
            }
            if (node != _recency.First)
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
            }
            return node.Value;
        }
    }

    /// <summary>Whether a live entry is under <paramref name="key"/> (no recency change: the semantic index asks it of candidates and when it sweeps).</summary>
    public bool Contains(UInt128 key)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            return _map.TryGetValue(key, out var node) && time.GetElapsedTime(node.Value.StoredAt, now) < node.Value.Ttl;
        }
    }

    /// <summary>
    /// The live entry under <paramref name="key"/>: from memory, else (with a shared tier) from it, kept here for the
    /// next time. Without a shared tier this completes at once, as <see cref="Get"/>.
    /// </summary>
    public ValueTask<CacheEntry?> GetAsync(UInt128 key, CancellationToken cancellationToken)
    {
        var local = Get(key);
        return local is not null || Shared is null ? new(local) : FromSharedAsync(key, cancellationToken);
    }

    private async ValueTask<CacheEntry?> FromSharedAsync(UInt128 key, CancellationToken cancellationToken)
    {
        var entry = await Shared!.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry is not null) Keep(entry);
        return entry;
    }

    /// <summary>Stores (or replaces) the entry here and in the shared tier, if any.</summary>
    public void Set(CacheEntry entry)
    {
        Shared?.Set(entry);
        Keep(entry);
    }

    /// <summary>Stores (or replaces) the entry in memory, then evicts the least recently used until the limit holds.</summary>
    private void Keep(CacheEntry entry)
    {
        if (entry.Size > maxBytes)
        {
            return;
        }
        lock (_gate)
        {
            if (_map.TryGetValue(entry.Key, out var old))
            {
                RemoveLocked(old);
            }
            _map[entry.Key] = _recency.AddFirst(entry);
            _bytes += entry.Size;
            while (_bytes > maxBytes && _recency.Last is { } last)
            {
                RemoveLocked(last);
            }
        }
    }

    private void RemoveLocked(LinkedListNode<CacheEntry> node)
    {
        _recency.Remove(node);
        _map.Remove(node.Value.Key);
        _bytes -= node.Value.Size;
    }
}

/// <summary>
/// One stored answer, in the engine's format (OpenAI Chat Completions): a complete body, or the chunks of a stream as
/// they passed. The other form is made from it the first time a request asks for it and kept.
/// </summary>
public sealed class CacheEntry
{
    /// <summary>Bookkeeping counted with each entry (the node, the object, the map slot), so that many tiny answers cannot exceed the limit unseen.</summary>
    private const int Overhead = 256;

    private CompleteChatResponse? _assembled;
    private StoredChunk[]? _synthesized;

    private CacheEntry(UInt128 key, string requestId, TokenUsage usage, Cost cost, long storedAt, TimeSpan ttl)
    {
        Key = key;
        RequestId = requestId;
        Usage = usage;
        Cost = cost;
        StoredAt = storedAt;
        Ttl = ttl;
    }

    public UInt128 Key { get; }

    /// <summary>The request whose answer this is (the hit's ledger row names it).</summary>
    public string RequestId { get; }

    public TokenUsage Usage { get; }

    /// <summary>What the answer cost when it was fetched: what each hit saves.</summary>
    public Cost Cost { get; }

    /// <summary>The clock's timestamp when stored.</summary>
    public long StoredAt { get; }

    public TimeSpan Ttl { get; }

    /// <summary>The complete body, for an entry stored from a complete answer.</summary>
    public byte[]? Body { get; private init; }

    /// <summary>The chunks, for an entry stored from a stream.</summary>
    public StoredChunk[]? Chunks { get; private init; }

    public long Size { get; private init; }

    public static CacheEntry FromComplete(UInt128 key, string requestId, CompleteChatResponse complete, Cost cost, long storedAt, TimeSpan ttl) =>
        new(key, requestId, complete.Usage, cost, storedAt, ttl) { Body = complete.Body.ToArray(), Size = complete.Body.Length + Overhead };

    public static CacheEntry FromChunks(UInt128 key, string requestId, StoredChunk[] chunks, long bytes, TokenUsage usage, Cost cost, long storedAt, TimeSpan ttl) =>
        new(key, requestId, usage, cost, storedAt, ttl) { Chunks = chunks, Size = bytes + (chunks.Length * 32L) + Overhead };

    /// <summary>The answer as a complete response: the stored body, or the stored chunks assembled into one (made once).</summary>
    public CompleteChatResponse Complete() => Body is not null
        ? new CompleteChatResponse(Body, Usage)
        : _assembled ??= new CompleteChatResponse(CachedAnswers.Assemble(Chunks!, Usage), Usage);

    /// <summary>The answer as chunks: the stored ones, or chunks synthesized from the complete body (made once).</summary>
    public StoredChunk[] StreamChunks() => Chunks ?? (_synthesized ??= CachedAnswers.Synthesize(Body!, Usage));
}

/// <summary>One stored stream chunk: its payload, where its usage object closes (-1: none), and whether it holds only usage.</summary>
public readonly record struct StoredChunk(byte[] Payload, int UsageEnd, bool UsageOnly);
