using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Sanjia.Core.Metering;

/// <summary>
/// One journal segment, sized up front and mapped into memory: appending an entry is a copy into the page cache, with
/// no system call (a killed process leaves what it copied in the kernel's pages, exactly as a <c>write</c> would).
/// The content runs up to the first zero byte; each append writes the zero after its bytes first and its first byte
/// last, so a process killed halfway leaves the previous end in place and the torn entry is never read.
/// </summary>
internal sealed class MappedJournalFile : IDisposable
{
    private readonly FileStream _file;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly SafeBuffer _buffer;
    private bool _disposed;

    private MappedJournalFile(string path, FileStream file, long used, long capacity)
    {
        Path = path;
        _file = file;
        Used = used;
        Capacity = capacity;
        _map = MemoryMappedFile.CreateFromFile(file, mapName: null, capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, capacity, MemoryMappedFileAccess.ReadWrite);
        _buffer = _view.SafeMemoryMappedViewHandle;
    }

    public string Path { get; }

    /// <summary>Bytes of content (entries), not the file's mapped size.</summary>
    public long Used { get; private set; }

    public long Capacity { get; }

    /// <summary>
    /// Opens (or creates) the segment with room for <paramref name="capacity"/> bytes. Content already in the file
    /// (a journal a previous process left) is kept and appended to.
    /// </summary>
    public static MappedJournalFile Open(string path, long capacity, bool durable)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.Read, BufferSize = 1 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // request metadata: owner-only, like the database
        }
        var file = new FileStream(path, options);
        try
        {
            var used = ContentLength(file);
            capacity = Math.Max(capacity, Math.Max(file.Length, used + 2));
            if (file.Length < capacity)
            {
                file.SetLength(capacity); // sparse: disk blocks come as pages are written
                if (durable) file.Flush(flushToDisk: true); // the new size, so that a synced entry can be found after power loss
            }
            var journal = new MappedJournalFile(path, file, used, capacity);
            if (used > 0 && journal._buffer.Read<byte>((ulong)used - 1) != (byte)'\n')
            {
                journal.TryAppend("\n"u8); // a torn last line from a killed process must not swallow the next entry
            }
            return journal;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Appends <paramref name="bytes"/> (one or more whole lines); false when they do not fit.</summary>
    public bool TryAppend(ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bytes.IsEmpty) return true;
        if (Used + bytes.Length + 1 > Capacity) return false; // + the zero that ends the content
        var at = (ulong)Used;
        _buffer.Write(at + (ulong)bytes.Length, (byte)0);
        _buffer.WriteSpan(at + 1, bytes[1..]);
        Interlocked.MemoryBarrier();
        _buffer.Write(at, bytes[0]); // the entry exists from here on
        Used += bytes.Length;
        return true;
    }

    /// <summary>Writes the mapped pages to the disk (<c>msync</c>) for the power-loss mode.</summary>
    public void Flush() => _view.Flush();

    /// <summary>Drops the content: the next append starts at the beginning.</summary>
    public void Clear()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _buffer.Write(0, (byte)0);
        Used = 0;
    }

    /// <summary>Closes the segment, cut to its content, under <paramref name="sealedPath"/>.</summary>
    public void Seal(string sealedPath)
    {
        Dispose();
        File.Move(Path, sealedPath);
    }

    /// <summary>Unmaps and cuts the file to its content.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.Dispose();
        _map.Dispose();
        try
        {
            _file.SetLength(Used);
        }
        finally
        {
            _file.Dispose();
        }
    }

    /// <summary>The content of a journal file's bytes: up to the first zero byte (a mapped segment's unused tail).</summary>
    public static ReadOnlySpan<byte> Content(ReadOnlySpan<byte> file)
    {
        var end = file.IndexOf((byte)0);
        return end < 0 ? file : file[..end];
    }

    private static long ContentLength(FileStream file)
    {
        if (file.Length == 0) return 0;
        var chunk = new byte[64 * 1024];
        long at = 0;
        file.Position = 0;
        int read;
        while ((read = file.Read(chunk, 0, chunk.Length)) > 0)
        {
            var zero = chunk.AsSpan(0, read).IndexOf((byte)0);
            if (zero >= 0) return at + zero;
            at += read;
        }
        return at;
    }
}
