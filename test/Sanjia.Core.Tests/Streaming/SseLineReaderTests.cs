using System.Text;
using Sanjia.Core.Streaming;

namespace Sanjia.Core.Tests.Streaming;

public class SseLineReaderTests
{
    private static async Task<List<string>> ReadAll(Stream stream)
    {
        var events = new List<string>();
        await using var reader = new SseLineReader(stream);
        while (await reader.ReadAsync(CancellationToken.None) is { } data)
        {
            events.Add(Encoding.UTF8.GetString(data.Span));
        }
        return events;
    }

    private const string Sample = ": keep-alive\n\ndata: {\"a\":1}\n\ndata:{\"b\":2}\r\n\r\nevent: message\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";

    [Fact]
    public async Task Reads_events_comments_crlf_and_multiline_data()
    {
        var events = await ReadAll(new MemoryStream(Encoding.UTF8.GetBytes(Sample)));
        Assert.Equal(["{\"a\":1}", "{\"b\":2}", "line1\nline2", "[DONE]"], events);
    }

    [Fact]
    public async Task Reads_the_same_when_bytes_trickle_in_one_at_a_time()
    {
        var events = await ReadAll(new TrickleStream(Encoding.UTF8.GetBytes(Sample)));
        Assert.Equal(["{\"a\":1}", "{\"b\":2}", "line1\nline2", "[DONE]"], events);
    }

    [Fact]
    public async Task Returns_a_final_event_without_its_blank_line_then_ends()
    {
        var events = await ReadAll(new MemoryStream("data: x\n\ndata: tail"u8.ToArray()));
        Assert.Equal(["x", "tail"], events);
    }

    /// <summary>Returns one byte per read, like a slow network.</summary>
    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _position;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= data.Length) return 0;
            buffer[offset] = data[_position++];
            return 1;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= data.Length) return ValueTask.FromResult(0);
            buffer.Span[0] = data[_position++];
            return ValueTask.FromResult(1);
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
