using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Sanjia.Core.Caching.Semantic;

namespace Sanjia.Benchmarks;

/// <summary>
/// The semantic cache's index (docs/caching.md, "The vector index"): one lookup among 100,000 stored questions of 384
/// dimensions (MiniLM's) in one partition, the worst case (an FAQ alias whose requests differ only in the question),
/// and among 10,000. <see cref="ExactFloatScan100k"/> is the baseline: cosine against every stored float vector with
/// System.Numerics.Tensors, what an index without the sign-bit pass would do. <see cref="PartitionKey"/> is the
/// per-request work before the embedding: the last user turn found and the exact key of the rest.
/// The vectors are clustered (400 centres, noise 0.6), the queries near stored ones (noise 0.3).
/// </summary>
[Config(typeof(HotPathConfig))]
[MedianColumn]
public class SemanticCacheBenchmarks
{
    private const int Dimensions = 384;
    private SemanticIndex _index100k = null!, _index10k = null!;
    private float[][] _stored = null!;
    private float[][] _queries = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var centres = Enumerable.Range(0, 400).Select(_ => Vector(random)).ToArray();
        _stored = Enumerable.Range(0, 100_000).Select(i => Near(random, centres[i % centres.Length], 0.6f)).ToArray();
        _queries = Enumerable.Range(0, 64).Select(_ => Near(random, _stored[random.Next(10_000)], 0.3f)).ToArray(); // in both indexes
        _index100k = new SemanticIndex(200_000, _ => true);
        _index10k = new SemanticIndex(200_000, _ => true);
        for (var i = 0; i < _stored.Length; i++)
        {
            _index100k.Add(0, _stored[i], (UInt128)i, "a stored question of about this length?");
            if (i < 10_000) _index10k.Add(0, _stored[i], (UInt128)i, "a stored question of about this length?");
        }
    }

    private static float[] Vector(Random random) => [.. Enumerable.Range(0, Dimensions).Select(_ => (float)((random.NextDouble() * 2) - 1))];

    private static float[] Near(Random random, float[] v, float noise)
    {
        var n = Vector(random);
        var scale = noise * MathF.Sqrt(TensorPrimitives.Dot(v, v) / TensorPrimitives.Dot(n, n));
        return [.. v.Select((x, i) => x + (scale * n[i]))];
    }

    private float[] NextQuery() => _queries[_next++ & 63];

    [Benchmark(Baseline = true)]
    public int ExactFloatScan100k()
    {
        var q = NextQuery();
        var best = -1;
        var bestSimilarity = 0.9f;
        for (var i = 0; i < _stored.Length; i++)
        {
            var s = TensorPrimitives.CosineSimilarity(q, _stored[i]);
            if (s > bestSimilarity)
            {
                best = i;
                bestSimilarity = s;
            }
        }
        return best;
    }

    [Benchmark]
    public (UInt128, float)? Lookup100k() => _index100k.Find(0, NextQuery(), 0.9f, "a query of about the same length as those?");

    [Benchmark]
    public (UInt128, float)? Lookup10k() => _index10k.Find(0, NextQuery(), 0.9f, "a query of about the same length as those?");

    [Benchmark]
    public (UInt128, string)? PartitionKey() => SemanticKey.Of(Payloads.SmallRequest, "fast", "key:k1", SemanticPolicy.DefaultEmbeddingModel, latinScriptOnly: true);
}
