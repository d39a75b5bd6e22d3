using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Sanjia.Core.Caching.Semantic;

/// <summary>
/// The semantic cache's vectors, in memory, one flat partition per exact-match context (<see cref="SemanticKey"/>):
/// each entry is a unit vector kept twice, as its signs (one bit per dimension, 48 bytes at 384) and as int8 codes
/// with a scale (384 bytes), and points at the response cache's entry (its exact key) that holds the answer.
/// <para>
/// A lookup scans the sign bits (Hamming distance: XOR and popcount over six words per entry at 384 dimensions, 4.8 MB
/// for 100,000 entries instead of 38 MB of int8 or 154 MB of float), keeps the <see cref="Candidates"/> nearest, and
/// scores only those by cosine on their int8 codes (error below 0.005). Vectors a threshold of 0.8 or more accepts are
/// a few tens of bits apart, and unrelated ones well over a hundred, so the true best is among the candidates unless
/// dozens of stored questions are nearly as close (then one of those, scored exactly, is what is compared).
/// </para>
/// <para>
/// Each entry keeps its question's text too, for <see cref="ContrastGuard"/>, which turns down candidates that pass the
/// threshold but ask another question in nearly the same words.
/// </para>
/// <para>
/// Answers live in the response cache and leave it by its TTL and LRU; the index learns it when it looks
/// (<paramref name="isLive"/>): a lookup skips dead entries, and when the index is full an insert first drops them, then
/// the oldest tenth.
/// </para>
/// </summary>
public sealed class SemanticIndex(int maxEntries, Func<UInt128, bool> isLive)
{
    /// <summary>Entries scored exactly per lookup.</summary>
    public const int Candidates = 32;

    private readonly ConcurrentDictionary<UInt128, Partition> _partitions = new();
    private readonly Lock _sweep = new();
    private int _count;
    private long _sequence;
    private long _older;

    public int MaxEntries => maxEntries;

    /// <summary>Entries held across partitions.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The live entry most similar to <paramref name="vector"/> in the partition, if it reaches <paramref name="threshold"/>
    /// and its question does not contrast with <paramref name="text"/> (<see cref="ContrastGuard"/>; null: no such check).
    /// </summary>
    public (UInt128 Entry, float Similarity)? Find(UInt128 partition, ReadOnlySpan<float> vector, float threshold, string? text = null) =>
        _partitions.TryGetValue(partition, out var p) ? p.Find(vector, threshold, text, isLive) : null;

    /// <summary>
    /// Adds a question (its vector and text) pointing at the response cache's entry <paramref name="entry"/>; with
    /// <paramref name="older"/>, ranked before every entry added so far (questions read back newest first, from the
    /// semantic feed's log), so that making room drops the oldest of those first.
    /// </summary>
    public void Add(UInt128 partition, ReadOnlySpan<float> vector, UInt128 entry, string text = "", bool older = false)
    {
        if (vector.Length == 0) return;
        if (Volatile.Read(ref _count) >= maxEntries && !MakeRoom()) return;
        var p = _partitions.GetOrAdd(partition, static (_, dimensions) => new Partition(dimensions), vector.Length);
        var sequence = older ? Interlocked.Decrement(ref _older) : Interlocked.Increment(ref _sequence);
        if (p.Add(vector, entry, text, sequence)) Interlocked.Increment(ref _count);
    }

    /// <summary>Drops dead entries, then, if that freed less than a tenth, the oldest until a tenth is free. False when still full.</summary>
    private bool MakeRoom()
    {
        lock (_sweep)
        {
            if (Volatile.Read(ref _count) < maxEntries) return true; // another insert made room meanwhile
            var removed = 0;
            foreach (var p in _partitions.Values) removed += p.RemoveWhere((key, _) => !isLive(key));
            Interlocked.Add(ref _count, -removed);
            var target = maxEntries - Math.Max(1, maxEntries / 10);
            if (Volatile.Read(ref _count) > target)
            {
                // The oldest by insertion: the cut-off is the sequence number below which the excess lies.
                var sequences = new List<long>(Volatile.Read(ref _count));
                foreach (var p in _partitions.Values) p.CollectSequences(sequences);
                sequences.Sort();
                var excess = sequences.Count - target;
                if (excess > 0)
                {
                    var cutoff = sequences[excess - 1];
                    removed = 0;
                    foreach (var p in _partitions.Values) removed += p.RemoveWhere((_, sequence) => sequence <= cutoff);
                    Interlocked.Add(ref _count, -removed);
                }
            }
            foreach (var (key, p) in _partitions)
            {
                if (p.IsEmpty) _partitions.TryRemove(new KeyValuePair<UInt128, Partition>(key, p));
            }
            return Volatile.Read(ref _count) < maxEntries;
        }
    }

    /// <summary>The vectors of one exact-match context, in flat arrays under a reader-writer lock (lookups share it).</summary>
    private sealed class Partition(int dimensions)
    {
        private readonly ReaderWriterLockSlim _lock = new();
        private readonly int _words = (dimensions + 63) / 64;
        private ulong[] _signs = [];
        private sbyte[] _codes = [];
        private float[] _scales = [];
        private UInt128[] _entries = [];
        private string[] _texts = [];
        private long[] _sequences = [];
        private int _count;

        public bool IsEmpty
        {
            get
            {
                _lock.EnterReadLock();
                try { return _count == 0; }
                finally { _lock.ExitReadLock(); }
            }
        }

        public (UInt128 Entry, float Similarity)? Find(ReadOnlySpan<float> vector, float threshold, string? text, Func<UInt128, bool> isLive)
        {
            if (vector.Length != dimensions) return null;
            Span<float> query = dimensions <= 2048 ? stackalloc float[dimensions] : new float[dimensions];
            if (!Normalize(vector, query)) return null;
            Span<ulong> signs = stackalloc ulong[_words];
            Signs(query, signs);
            Span<int> candidates = stackalloc int[Candidates];
            Span<int> distances = stackalloc int[Candidates];
            _lock.EnterReadLock();
            try
            {
                var n = Nearest(signs, candidates, distances);
                // Scored; those under the threshold dropped. Then best first, the first that is live and passes the guard
                // (usually the first: the guard and the liveness check run once per lookup).
                Span<float> scores = stackalloc float[Candidates];
                var kept = 0;
                for (var c = 0; c < n; c++)
                {
                    var i = candidates[c];
                    var similarity = Dot(query, _codes.AsSpan(i * dimensions, dimensions)) * _scales[i];
                    if (similarity < threshold) continue;
                    candidates[kept] = i;
                    scores[kept++] = similarity;
                }
                while (kept > 0)
                {
                    var top = 0;
                    for (var c = 1; c < kept; c++)
                    {
                        if (scores[c] > scores[top]) top = c;
                    }
                    var i = candidates[top];
                    if ((text is null || !ContrastGuard.Contrasts(text, _texts[i])) && isLive(_entries[i])) return (_entries[i], scores[top]);
                    candidates[top] = candidates[--kept];
                    scores[top] = scores[kept];
                }
                return null;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }

        /// <summary>The (at most) <see cref="Candidates"/> entries with the fewest differing signs; returns how many.</summary>
        private int Nearest(ReadOnlySpan<ulong> query, Span<int> candidates, Span<int> distances)
        {
            var words = _words;
            var signs = _signs.AsSpan(0, _count * words);
            var n = 0;
            var worst = 0; // the slot of the farthest candidate kept, once full
            for (var i = 0; i < _count; i++)
            {
                var row = signs.Slice(i * words, words);
                var d = 0;
                for (var w = 0; w < row.Length; w++) d += BitOperations.PopCount(row[w] ^ query[w]);
                if (n < candidates.Length)
                {
                    candidates[n] = i;
                    distances[n] = d;
                    if (++n == candidates.Length) worst = Farthest(distances);
                }
                else if (d < distances[worst])
                {
                    candidates[worst] = i;
                    distances[worst] = d;
                    worst = Farthest(distances);
                }
            }
            return n;
        }

        private static int Farthest(ReadOnlySpan<int> distances)
        {
            var at = 0;
            for (var i = 1; i < distances.Length; i++)
            {
                if (distances[i] > distances[at]) at = i;
            }
            return at;
        }

        public bool Add(ReadOnlySpan<float> vector, UInt128 entry, string text, long sequence)
        {
            if (vector.Length != dimensions) return false; // another model's vector under the same partition: cannot be
            Span<float> unit = dimensions <= 2048 ? stackalloc float[dimensions] : new float[dimensions];
            if (!Normalize(vector, unit)) return false;
            _lock.EnterWriteLock();
            try
            {
                if (_count == _entries.Length) Grow(Math.Max(16, _count * 2));
                var i = _count;
                Signs(unit, _signs.AsSpan(i * _words, _words));
                _scales[i] = Quantize(unit, _codes.AsSpan(i * dimensions, dimensions));
                _entries[i] = entry;
                _texts[i] = text;
                _sequences[i] = sequence;
                _count++;
                return true;
            }
            finally
            {
                _lock.ExitWriteLock();
            }
        }

        private void Grow(int capacity)
        {
            Array.Resize(ref _signs, capacity * _words);
            Array.Resize(ref _codes, capacity * dimensions);
            Array.Resize(ref _scales, capacity);
            Array.Resize(ref _entries, capacity);
            Array.Resize(ref _texts, capacity);
            Array.Resize(ref _sequences, capacity);
        }

        /// <summary>Removes the entries <paramref name="remove"/> picks, keeping the others in order; returns how many went.</summary>
        public int RemoveWhere(Func<UInt128, long, bool> remove)
        {
            _lock.EnterWriteLock();
            try
            {
                var kept = 0;
                for (var i = 0; i < _count; i++)
                {
                    if (remove(_entries[i], _sequences[i])) continue;
                    if (kept != i)
                    {
                        _signs.AsSpan(i * _words, _words).CopyTo(_signs.AsSpan(kept * _words));
                        _codes.AsSpan(i * dimensions, dimensions).CopyTo(_codes.AsSpan(kept * dimensions));
                        _scales[kept] = _scales[i];
                        _entries[kept] = _entries[i];
                        _texts[kept] = _texts[i];
                        _sequences[kept] = _sequences[i];
                    }
                    kept++;
                }
                var removed = _count - kept;
                Array.Clear(_texts, kept, removed); // let the removed questions' strings go
                _count = kept;
                return removed;
            }
            finally
            {
                _lock.ExitWriteLock();
            }
        }

        public void CollectSequences(List<long> into)
        {
            _lock.EnterReadLock();
            try { into.AddRange(_sequences.AsSpan(0, _count)); }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>Writes <paramref name="vector"/> scaled to unit length; false for a zero (or non-finite) vector, which matches nothing.</summary>
    internal static bool Normalize(ReadOnlySpan<float> vector, Span<float> unit)
    {
        var norm = MathF.Sqrt(Dot(vector, vector));
        if (!(norm > 0) || float.IsInfinity(norm)) return false;
        for (var i = 0; i < vector.Length; i++) unit[i] = vector[i] / norm;
        return true;
    }

    /// <summary>One bit per dimension: set where the component is positive.</summary>
    internal static void Signs(ReadOnlySpan<float> unit, Span<ulong> signs)
    {
        signs.Clear();
        for (var i = 0; i < unit.Length; i++)
        {
            if (unit[i] > 0) signs[i >> 6] |= 1UL << (i & 63);
        }
    }

    /// <summary>int8 codes of a unit vector (the largest component at ±127); returns the scale that turns a code back into its component.</summary>
    internal static float Quantize(ReadOnlySpan<float> unit, Span<sbyte> codes)
    {
        var max = 0f;
        foreach (var x in unit) max = Math.Max(max, Math.Abs(x));
        var scale = max / 127f;
        for (var i = 0; i < unit.Length; i++) codes[i] = (sbyte)Math.Clamp(MathF.Round(unit[i] / scale), -127, 127);
        return scale;
    }

    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => System.Numerics.Tensors.TensorPrimitives.Dot(x, y);

    /// <summary>A float query against int8 codes (the codes' scale applied by the caller).</summary>
    private static float Dot(ReadOnlySpan<float> query, ReadOnlySpan<sbyte> codes)
    {
        var sum = 0f;
        for (var i = 0; i < codes.Length; i++) sum += query[i] * codes[i];
        return sum;
    }
}
