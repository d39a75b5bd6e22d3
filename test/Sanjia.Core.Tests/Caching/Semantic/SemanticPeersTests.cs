using Microsoft.Extensions.Time.Testing;
using Sanjia.Core.Caching.Semantic;

namespace Sanjia.Core.Tests.Caching.Semantic;

/// <summary>Other instances' questions joining this instance's index: once each, only while their answers live.</summary>
public sealed class SemanticPeersTests
{
    private static SharedQuestion Question(UInt128 entry, DateTimeOffset expires) =>
        new(1, [1f, 0.5f, 0.25f, 0f], entry, "What is the capital of France?", expires);

    [Fact]
    public void A_question_heard_twice_is_added_once_a_later_expiry_again_and_an_expired_one_never()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var peers = new SemanticPeers(time);
        var index = new SemanticIndex(100, peers.Knows);
        var hour = time.GetUtcNow().AddHours(1);

        // Live, then read back from the log after a reconnection: one entry in the index.
        Assert.True(peers.Receive(index, Question(7, hour)));
        Assert.False(peers.Receive(index, Question(7, hour)));
        Assert.False(peers.Receive(index, Question(7, hour.AddMinutes(-1))));
        Assert.Equal((1, 1), (peers.Count, index.Count));

        // Asked again after its answer was stored anew (a later expiry): it counts from then on.
        Assert.True(peers.Receive(index, Question(7, hour.AddHours(1))));
        time.Advance(TimeSpan.FromHours(1.5));
        Assert.True(peers.Knows(7));

        // An answer already expired is not revived.
        Assert.False(peers.Receive(index, Question(8, time.GetUtcNow())));
        Assert.False(peers.Knows(8));
        Assert.Equal(1, peers.Count);
    }

    [Fact]
    public void Questions_read_back_newest_first_rank_oldest_so_a_full_index_drops_the_oldest_of_them_first()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(1));
        var peers = new SemanticPeers(time);
        var index = new SemanticIndex(10, _ => true);
        var hour = time.GetUtcNow().AddHours(1);
        static float[] Axis(int i)
        {
            var v = new float[16];
            v[i] = 1;
            return v;
        }

        // The log read newest first: question 1 is the newest, 10 the oldest.
        for (var i = 1; i <= 10; i++) Assert.True(peers.Receive(index, new SharedQuestion(1, Axis(i), (UInt128)i, $"question {i}", hour), older: true));
        index.Add(1, Axis(11), 11, "question 11"); // one this instance answers

        // Full, the index dropped its oldest tenth: question 10, not question 1.
        Assert.Null(index.Find(1, Axis(10), 0.9f));
        Assert.Equal((UInt128)1, index.Find(1, Axis(1), 0.9f)?.Entry);
        Assert.Equal((UInt128)11, index.Find(1, Axis(11), 0.9f)?.Entry);
    }
}
