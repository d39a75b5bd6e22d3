using System.Collections.Concurrent;

namespace Sanjia.Core.Caching.Semantic;

/// <summary>A question one instance indexed, for the others: its partition, vector and text, the response cache's entry that answers it, and when that answer expires.</summary>
public sealed record SharedQuestion(UInt128 Partition, float[] Vector, UInt128 Entry, string Text, DateTimeOffset Expires);

/// <summary>Sends the questions this instance indexes to the other instances (Redis: <c>Sanjia.Redis.RedisSemanticFeed</c>).</summary>
public interface ISemanticFeed
{
    /// <summary>Without waiting; a feed that cannot be reached drops it (the question is then answered by this instance only).</summary>
    void Publish(SharedQuestion question);
}

/// <summary>
/// The semantic cache across instances (docs/caching.md, "Shared through Redis"). Each instance keeps its own vector
/// index; the questions it indexes go to the others through <see cref="Feed"/>, and the questions they index come in
/// through <see cref="Receive"/> and join this instance's index (as they are published, and, at start and after a
/// reconnection, read back from what the feed keeps of them). Their answers are in the response cache's shared tier,
/// not in this instance's memory, so such an entry counts as live (<see cref="Knows"/>) until its answer's TTL ends,
/// or until a lookup finds the answer gone from the shared tier (<see cref="Forget"/>). Without a feed (no Redis) it
/// holds nothing and every check is one dictionary lookup on an empty dictionary.
/// </summary>
public sealed class SemanticPeers(TimeProvider time)
{
    private readonly ConcurrentDictionary<UInt128, DateTimeOffset> _expires = new();

    /// <summary>Where this instance's questions go; null (the default) keeps them here.</summary>
    public ISemanticFeed? Feed { get; set; }

    /// <summary>Entries announced by other instances whose answers have not expired.</summary>
    public int Count => _expires.Count;

    /// <summary>Whether <paramref name="entry"/> is a peer's answer still within its TTL.</summary>
    public bool Knows(UInt128 entry)
    {
        if (_expires.IsEmpty || !_expires.TryGetValue(entry, out var expires)) return false;
        if (time.GetUtcNow() < expires) return true;
        _expires.TryRemove(new KeyValuePair<UInt128, DateTimeOffset>(entry, expires));
        return false;
    }

    /// <summary>The answer behind <paramref name="entry"/> is gone from the shared tier (evicted before its TTL): not live any more.</summary>
    public void Forget(UInt128 entry) => _expires.TryRemove(entry, out _);

    /// <summary>
    /// Another instance indexed <paramref name="question"/>: into this instance's index, live until its answer expires;
    /// true when it was added. Left out: an answer already expired, one this instance knows already with this expiry or a
    /// later one (the same question heard again: live and read back from the log after a reconnection, or from two
    /// catch-ups), and any once as many as the index holds are tracked (expired ones are swept first).
    /// <paramref name="older"/>: read back newest first, ranked before what the index holds (<see cref="SemanticIndex.Add"/>).
    /// </summary>
    public bool Receive(SemanticIndex index, SharedQuestion question, bool older = false)
    {
        var now = time.GetUtcNow();
        if (question.Expires <= now) return false;
        if (_expires.Count >= index.MaxEntries)
        {
            foreach (var (entry, expires) in _expires)
            {
                if (expires <= now) _expires.TryRemove(new KeyValuePair<UInt128, DateTimeOffset>(entry, expires));
            }
            if (_expires.Count >= index.MaxEntries) return false;
        }
        // Claimed atomically, so that of two threads hearing the same question only one adds it to the index.
        while (true)
        {
            if (_expires.TryGetValue(question.Entry, out var known))
            {
                if (known >= question.Expires) return false;
                if (_expires.TryUpdate(question.Entry, question.Expires, known)) break;
            }
            else if (_expires.TryAdd(question.Entry, question.Expires))
            {
                break;
            }
        }
        index.Add(question.Partition, question.Vector, question.Entry, question.Text, older);
        return true;
    }
}
