using Sanjia.Abstractions;

namespace Sanjia.Core.Caching;

/// <summary>
/// A second tier of the response cache shared by every instance (Redis, when <c>Sanjia:Redis:Configuration</c> is set;
/// docs/caching.md): <see cref="ResponseCache"/> asks it after a miss in its own memory and keeps what it finds, and
/// gives it every answer it stores. Without it (the default) nothing changes on the request path.
/// </summary>
public interface ISharedResponseCache
{
    /// <summary>The live entry under <paramref name="key"/>, its time to live being what it has left; null when there is none or the tier cannot be reached.</summary>
    ValueTask<CacheEntry?> GetAsync(UInt128 key, CancellationToken cancellationToken);

    /// <summary>Stores the entry without waiting (a tier that cannot be reached drops it).</summary>
    void Set(CacheEntry entry);
}

/// <summary>
/// A stored answer as bytes, for a cache outside the process, and back: a version byte, then the entry's kind
/// (complete or chunks), request id, usage and cost, and the body or the chunks. An unknown version reads as no entry.
/// </summary>
public static class CacheEntryFormat
{
    private const byte Version = 1;

    public static byte[] Encode(CacheEntry entry)
    {
        using var stream = new MemoryStream((int)Math.Min(entry.Size, int.MaxValue));
        using (var w = new BinaryWriter(stream))
        {
            w.Write(Version);
            w.Write(entry.Body is not null);
            w.Write(entry.RequestId);
            var u = entry.Usage;
            w.Write(u.Input);
            w.Write(u.Output);
            w.Write(u.CachedInput);
            w.Write(u.Reasoning);
            w.Write(u.Estimated);
            w.Write(u.CacheWrite);
            w.Write(entry.Cost.Amount is not null);
            w.Write(entry.Cost.Amount ?? 0m);
            w.Write(entry.Cost.Currency ?? "");
            if (entry.Body is { } body)
            {
                w.Write(body.Length);
                w.Write(body);
            }
            else
            {
                var chunks = entry.Chunks!;
                w.Write(chunks.Length);
                foreach (var c in chunks)
                {
                    w.Write(c.Payload.Length);
                    w.Write(c.Payload);
                    w.Write(c.UsageEnd);
                    w.Write(c.UsageOnly);
                }
            }
        }
        return stream.ToArray();
    }

    /// <summary>The entry in <paramref name="data"/>, stored under <paramref name="key"/> at <paramref name="storedAt"/> (a timestamp of the cache's clock) for <paramref name="ttl"/>; null when the bytes are not an entry of this version.</summary>
    public static CacheEntry? Decode(UInt128 key, byte[] data, long storedAt, TimeSpan ttl)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(data, writable: false));
            if (r.ReadByte() != Version) return null;
            var complete = r.ReadBoolean();
            var requestId = r.ReadString();
            var usage = new TokenUsage(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadBoolean(), r.ReadInt32());
            var priced = r.ReadBoolean();
            var amount = r.ReadDecimal();
            var currency = r.ReadString();
            var cost = priced ? new Cost(amount, currency.Length > 0 ? currency : null) : Cost.Unpriced;
            if (complete)
            {
                var body = Bytes(r);
                return CacheEntry.FromComplete(key, requestId, new CompleteChatResponse(body, usage), cost, storedAt, ttl);
            }
            var chunks = new StoredChunk[r.ReadInt32()];
            long bytes = 0;
            for (var i = 0; i < chunks.Length; i++)
            {
                var payload = Bytes(r);
                bytes += payload.Length;
                chunks[i] = new StoredChunk(payload, r.ReadInt32(), r.ReadBoolean());
            }
            return CacheEntry.FromChunks(key, requestId, chunks, bytes, usage, cost, storedAt, ttl);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentOutOfRangeException or FormatException)
        {
            return null;
        }
    }

    private static byte[] Bytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        var bytes = r.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }
}
