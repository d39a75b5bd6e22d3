using System.Buffers;
using System.IO.Pipelines;

namespace Sanjia.Core.Streaming;

/// <summary>
/// Reads Server-Sent Events <c>data:</c> payloads from a stream without copying more than once. One event's data
/// is returned per call; comments (<c>:</c> keep-alives) and other fields are skipped. The returned memory is valid
/// until the next call.
/// </summary>
public sealed class SseLineReader(Stream stream) : IAsyncDisposable
{
    private readonly PipeReader _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096));
    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private SequencePosition? _consumed;
    private ReadOnlySequence<byte> _buffer;

    /// <summary>The <c>event:</c> field of the last event read, if it had one.</summary>
    public string? EventName { get; private set; }

    /// <summary>Returns the next event's data, or null at the end of the stream.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_consumed is { } c)
        {
            // Only what was consumed: complete events may still wait in the buffer.
            _reader.AdvanceTo(c);
            _consumed = null;
        }
        _data.Clear();
        EventName = null;
        var hasData = false;
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            _buffer = result.Buffer;
            var position = _buffer.Start;
            while (TryReadLine(ref _buffer, out var line))
            {
                if (line.IsEmpty)
                {
                    if (hasData)
                    {
                        _consumed = _buffer.Start;
                        return _data.WrittenMemory;
                    }
                    continue;
                }
                ProcessLine(line, ref hasData);
            }
            if (result.IsCompleted)
            {
                // A last line without its newline, and a last event without its blank line, still count.
                if (!_buffer.IsEmpty)
                {
                    ProcessLine(_buffer, ref hasData);
                }
                _reader.AdvanceTo(_buffer.End);
                _buffer = default;
                return hasData ? _data.WrittenMemory : (ReadOnlyMemory<byte>?)null;
            }
            _reader.AdvanceTo(_buffer.Start, _buffer.End);
        }
    }

    private void ProcessLine(ReadOnlySequence<byte> line, ref bool hasData)
    {
        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        if (span[0] == (byte)':')
        {
            return;
        }
        if (span.StartsWith("data:"u8))
        {
            var value = span[5..];
            if (!value.IsEmpty && value[0] == (byte)' ') value = value[1..];
            if (hasData) _data.Write("\n"u8);
            _data.Write(value);
            hasData = true;
        }
        else if (span.StartsWith("event:"u8))
        {
            EventName = System.Text.Encoding.UTF8.GetString(span[6..]).Trim();
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, newline.Value);
        if (!line.IsEmpty && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
        {
            line = line.Slice(0, line.Length - 1);
        }
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    public async ValueTask DisposeAsync() => await _reader.CompleteAsync().ConfigureAwait(false);
}
