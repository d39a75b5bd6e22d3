using System.Text;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Caching;

namespace Sanjia.Core.Tests.Caching;

/// <summary>The response cache's shared tier as <see cref="ResponseCache"/> uses it: asked only after a miss in memory, what it finds kept in memory, every store given to it.</summary>
public sealed class SharedResponseCacheTests
{
    /// <summary>A tier in a dictionary, counting what it is asked, storing entries as the bytes Redis would hold.</summary>
    private sealed class DictionaryTier(FakeTimeProvider time) : ISharedResponseCache
    {
        public readonly Dictionary<UInt128, byte[]> Entries = [];
        public int Gets;

        public ValueTask<CacheEntry?> GetAsync(UInt128 key, CancellationToken cancellationToken)
        {
            Gets++;
            return new(Entries.TryGetValue(key, out var bytes) ? CacheEntryFormat.Decode(key, bytes, time.GetTimestamp(), TimeSpan.FromSeconds(30)) : null);
        }

        public void Set(CacheEntry entry) => Entries[entry.Key] = CacheEntryFormat.Encode(entry);
    }

    private static CacheEntry Entry(UInt128 key, TimeProvider time) => CacheEntry.FromComplete(key, "req-" + key,
        new CompleteChatResponse(Encoding.UTF8.GetBytes("""{"choices":[]}"""), new TokenUsage(3, 2)), new Cost(0.5m, "USD"), time.GetTimestamp(), TimeSpan.FromSeconds(60));

    [Fact]
    public async Task An_entry_stored_by_one_instance_is_found_by_another_once_then_answered_from_its_memory()
    {
        var time = new FakeTimeProvider();
        var tier = new DictionaryTier(time);
        var one = new ResponseCache(1 << 20, time) { Shared = tier };
        var two = new ResponseCache(1 << 20, time) { Shared = tier };

        one.Set(Entry(1, time));
        Assert.Single(tier.Entries);
        var found = await two.GetAsync(1, CancellationToken.None);
        Assert.Equal(("req-1", new Cost(0.5m, "USD")), (found!.RequestId, found.Cost));
        Assert.Equal(1, tier.Gets);
        Assert.NotNull(await two.GetAsync(1, CancellationToken.None)); // kept in its memory: the tier is not asked again
        Assert.Equal((1, 1), (tier.Gets, two.Count));
        Assert.Null(await two.GetAsync(2, CancellationToken.None));
        Assert.Equal(2, tier.Gets);

        // Kept for the time the tier said it had left (30 s), not the alias's full TTL.
        time.Advance(TimeSpan.FromSeconds(31));
        tier.Entries.Clear();
        Assert.Null(await two.GetAsync(1, CancellationToken.None));
    }

    [Fact]
    public async Task Without_a_shared_tier_a_lookup_completes_at_once_as_the_in_memory_one()
    {
        var time = new FakeTimeProvider();
        var cache = new ResponseCache(1 << 20, time);
        cache.Set(Entry(1, time));
        var hit = cache.GetAsync(1, CancellationToken.None);
        var miss = cache.GetAsync(2, CancellationToken.None);
        Assert.True(hit.IsCompletedSuccessfully && miss.IsCompletedSuccessfully);
        Assert.Equal(("req-1", null), ((await hit)!.RequestId, await miss));
    }
}
