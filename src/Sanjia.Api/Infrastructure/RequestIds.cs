using System.Buffers.Binary;

namespace Sanjia.Api.Infrastructure;

/// <summary>
/// Request ids: <c>req_</c> + 32 hex digits laid out as a UUIDv7 (48-bit Unix milliseconds, then random bits), so
/// they sort by time. The random part comes from the process's non-cryptographic generator: ids must be unique,
/// not secret, and <see cref="Guid.CreateVersion7()"/> costs a read of the kernel's random device per request.
/// </summary>
internal static class RequestIds
{
    public static string New(DateTimeOffset now)
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes[6..]);
        var ms = (ulong)now.ToUnixTimeMilliseconds();
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)(ms >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], (uint)ms);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // RFC 4122 variant
        Span<char> chars = stackalloc char[36];
        "req_".CopyTo(chars);
        Convert.TryToHexStringLower(bytes, chars[4..], out _);
        return new string(chars);
    }
}
