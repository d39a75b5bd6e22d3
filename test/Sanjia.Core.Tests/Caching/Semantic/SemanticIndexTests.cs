using Sanjia.Core.Caching.Semantic;

namespace Sanjia.Core.Tests.Caching.Semantic;

/// <summary>The vector index: nearest live entry above the threshold, eviction when full, and agreement with an exact scan.</summary>
public sealed class SemanticIndexTests
{
    private static float[] Random(Random random, int dimensions)
    {
        var v = new float[dimensions];
        for (var i = 0; i < v.Length; i++) v[i] = (float)((random.NextDouble() * 2) - 1);
        return v;
    }

    private static float Cosine(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);

    /// <summary>A copy of <paramref name="v"/> with noise of relative size <paramref name="noise"/>.</summary>
    private static float[] Near(Random random, float[] v, double noise)
    {
        var n = Random(random, v.Length);
        var scale = (float)(noise * Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(v, v) / System.Numerics.Tensors.TensorPrimitives.Dot(n, n)));
        return [.. v.Select((x, i) => x + (scale * n[i]))];
    }

    [Fact]
    public void Over_ten_thousand_clustered_entries_the_index_finds_what_an_exact_scan_finds()
    {
        // Clusters of near questions (as an FAQ's paraphrases are), 384 dimensions as MiniLM's.
        var random = new Random(7);
        var centres = Enumerable.Range(0, 200).Select(_ => Random(random, 384)).ToArray();
        var stored = Enumerable.Range(0, 10_000).Select(i => Near(random, centres[i % centres.Length], 0.6)).ToArray();
        var index = new SemanticIndex(100_000, _ => true);
        for (var i = 0; i < stored.Length; i++) index.Add(0, stored[i], (UInt128)i);

        int agree = 0, queries = 0, exactAbove = 0;
        for (var q = 0; q < 150; q++)
        {
            var query = Near(random, stored[random.Next(stored.Length)], 0.3);
            var (best, bestSimilarity) = stored.Select((v, i) => (i, Cosine(query, v))).MaxBy(p => p.Item2);
            var found = index.Find(0, query, 0.8f);
            queries++;
            if (bestSimilarity >= 0.8f) exactAbove++;
            if (found is { } f && f.Entry == (UInt128)best && Math.Abs(f.Similarity - bestSimilarity) < 0.01) agree++;
        }

        Assert.Equal(queries, exactAbove); // every query has a stored neighbour above 0.8 ...
        Assert.True(agree >= queries * 0.98, $"{agree} of {queries}"); // ... and the index finds the same one, scored within 0.01
    }

    [Fact]
    public void Nothing_below_the_threshold_nor_in_another_partition_nor_dead_is_found()
    {
        var live = new HashSet<UInt128> { 1, 2 };
        var index = new SemanticIndex(100, live.Contains);
        index.Add(10, [1, 0, 0, 0], 1);
        index.Add(10, [0, 1, 0, 0], 2);

        Assert.Equal((UInt128)1, index.Find(10, [0.9f, 0.1f, 0, 0], 0.9f)!.Value.Entry);
        Assert.Null(index.Find(10, [0.7f, 0.7f, 0, 0], 0.9f)); // 0.707 to either
        Assert.Null(index.Find(11, [1, 0, 0, 0], 0.9f));
        Assert.Null(index.Find(10, [0, 0, 0, 0], 0.1f)); // a zero vector matches nothing
        live.Remove(1);
        Assert.Null(index.Find(10, [1, 0, 0, 0], 0.9f));
    }

    [Fact]
    public void When_full_an_insert_drops_the_dead_entries_first_then_the_oldest_tenth()
    {
        var live = new HashSet<UInt128>();
        var index = new SemanticIndex(20, live.Contains);
        for (var i = 0; i < 20; i++)
        {
            live.Add((UInt128)i);
            index.Add((UInt128)(i % 3), [1, i, 0], (UInt128)i);
        }
        live.Remove(5);

        index.Add(0, [0, 0, 1], 100); // the dead one goes; that frees less than a tenth (2 of 20), so the oldest, 0, goes too
        live.Add(100);

        Assert.Equal(19, index.Count);
        Assert.Null(index.Find(0, [1, 0, 0], 0.999f)); // entry 0
        Assert.Equal((UInt128)1, index.Find(1, [1, 1, 0], 0.999f)!.Value.Entry);
        Assert.Equal((UInt128)100, index.Find(0, [0, 0, 1], 0.99f)!.Value.Entry);
        Assert.Equal((UInt128)19, index.Find(19 % 3, [1, 19, 0], 0.999f)!.Value.Entry);
    }
}
