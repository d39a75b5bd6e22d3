namespace Sanjia.Providers.Local.Tests;

public sealed class StopSequenceFilterTests
{
    private static (string Emitted, bool Stopped) Feed(IEnumerable<string> stops, params string[] pieces)
    {
        var filter = new StopSequenceFilter(stops);
        var emitted = "";
        foreach (var piece in pieces)
        {
            emitted += filter.Push(piece, out var stopped);
            if (stopped)
            {
                return (emitted, true);
            }
        }
        return (emitted + filter.Flush(), false);
    }

    [Fact]
    public void A_stop_split_across_pieces_is_never_emitted()
    {
        var filter = new StopSequenceFilter(["lo Wo"]);

        Assert.Equal("He", filter.Push("Hel", out var s1));
        Assert.Equal("l", filter.Push("lo W", out var s2));
        Assert.Equal("", filter.Push("orld", out var s3));
        Assert.False(s1 || s2);
        Assert.True(s3);
    }

    [Fact]
    public void Held_back_text_that_turns_out_not_to_stop_is_emitted()
    {
        Assert.Equal(("the end is near", false), Feed(["end."], "the en", "d is", " near"));
        Assert.Equal(("abc", false), Feed(["cd"], "ab", "c"));
    }

    [Fact]
    public void The_earliest_of_several_stops_wins_even_inside_one_piece()
    {
        Assert.Equal(("one ", true), Feed(["three", "two"], "one two three"));
    }

    [Fact]
    public void Without_stops_text_passes_straight_through()
    {
        var filter = new StopSequenceFilter(["", ""]);
        Assert.Equal("any", filter.Push("any", out var stopped));
        Assert.False(stopped);
    }
}
