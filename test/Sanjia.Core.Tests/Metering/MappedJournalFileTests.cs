using System.Text;
using Sanjia.Core.Metering;

namespace Sanjia.Core.Tests.Metering;

/// <summary>
/// The mapped journal segment as replay reads it from disk: content up to the first zero, appends after what a
/// previous process left, and nothing from before a clear comes back.
/// </summary>
public sealed class MappedJournalFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-mapped-journal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string FilePath => Path.Combine(_dir, "ledger.journal");

    private static byte[] Line(string text) => Encoding.UTF8.GetBytes(text + "\n");

    /// <summary>What replay sees: the file's bytes as another process reads them, up to the first zero.</summary>
    private string OnDisk()
    {
        using var f = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[f.Length];
        f.ReadExactly(bytes);
        return Encoding.UTF8.GetString(MappedJournalFile.Content(bytes));
    }

    [Fact]
    public void Appended_lines_are_in_the_file_while_it_is_still_mapped()
    {
        using var journal = MappedJournalFile.Open(FilePath, 4096, durable: false);
        Assert.True(journal.TryAppend(Line("{\"a\":1}")));
        Assert.True(journal.TryAppend(Line("{\"b\":2}")));

        Assert.Equal("{\"a\":1}\n{\"b\":2}\n", OnDisk());
        Assert.Equal(4096, new FileInfo(FilePath).Length); // sized up front, the tail is zeros
    }

    [Fact]
    public void A_line_that_does_not_fit_is_refused_and_nothing_of_it_is_written()
    {
        using var journal = MappedJournalFile.Open(FilePath, 32, durable: false);
        Assert.True(journal.TryAppend(Line("{\"n\":\"0123456789\"}"))); // 19 bytes
        Assert.False(journal.TryAppend(Line("{\"n\":\"012345\"}"))); // 15 more + the end marker would pass 32

        Assert.Equal("{\"n\":\"0123456789\"}\n", OnDisk());
        Assert.Equal(19, journal.Used);
    }

    [Fact]
    public void After_a_clear_the_old_lines_are_gone_even_where_new_ones_are_shorter()
    {
        using var journal = MappedJournalFile.Open(FilePath, 4096, durable: false);
        journal.TryAppend(Line("{\"old\":\"a long line that was stored already\"}"));
        journal.TryAppend(Line("{\"old\":2}"));
        journal.Clear();
        Assert.Equal("", OnDisk());

        journal.TryAppend(Line("{\"new\":1}"));
        Assert.Equal("{\"new\":1}\n", OnDisk());
    }

    [Fact]
    public void Reopening_appends_after_the_content_and_closing_cuts_the_file_to_it()
    {
        using (var first = MappedJournalFile.Open(FilePath, 4096, durable: false))
        {
            first.TryAppend(Line("{\"a\":1}"));
        }
        Assert.Equal(8, new FileInfo(FilePath).Length);

        using (var second = MappedJournalFile.Open(FilePath, 4096, durable: true))
        {
            Assert.Equal(8, second.Used);
            second.TryAppend(Line("{\"b\":2}"));
            second.Flush();
        }
        Assert.Equal("{\"a\":1}\n{\"b\":2}\n", File.ReadAllText(FilePath));
    }

    [Fact]
    public void A_torn_last_line_left_by_a_killed_writer_does_not_swallow_the_next_entry()
    {
        File.WriteAllText(FilePath, "{\"a\":1}\n{\"torn\":");
        using (var journal = MappedJournalFile.Open(FilePath, 4096, durable: false))
        {
            journal.TryAppend(Line("{\"b\":2}"));
        }
        Assert.Equal(["{\"a\":1}", "{\"torn\":", "{\"b\":2}"], File.ReadAllLines(FilePath));
    }

    [Fact]
    public void A_sealed_segment_keeps_its_content_under_the_new_name()
    {
        var journal = MappedJournalFile.Open(FilePath, 4096, durable: false);
        journal.TryAppend(Line("{\"a\":1}"));
        journal.Seal(FilePath + ".0");

        Assert.False(File.Exists(FilePath));
        Assert.Equal("{\"a\":1}\n", File.ReadAllText(FilePath + ".0"));
    }
}
