using System.Text;

namespace Sanjia.Providers.Local;

/// <summary>
/// Reads one fact from a GGUF file's metadata without loading the weights: the context length the model was trained
/// with (<c>&lt;arch&gt;.context_length</c>), so <c>GET /v1/models</c> can say it before the first request loads the model.
/// </summary>
internal static class GgufHeader
{
    public static int? TrainedContextLength(string path)
    {
        try
        {
            using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            if (r.ReadUInt32() != 0x46554747) return null; // "GGUF"
            if (r.ReadUInt32() < 2) return null; // version 1 used 32-bit counts
            r.ReadUInt64(); // tensors
            var count = r.ReadUInt64();
            for (ulong i = 0; i < count; i++)
            {
                var key = ReadString(r);
                var type = r.ReadUInt32();
                if (key.EndsWith(".context_length", StringComparison.Ordinal))
                {
                    return type switch
                    {
                        4 => (int)Math.Min(r.ReadUInt32(), int.MaxValue),
                        5 => r.ReadInt32(),
                        10 => (int)Math.Min(r.ReadUInt64(), int.MaxValue),
                        11 => (int)Math.Clamp(r.ReadInt64(), 0, int.MaxValue),
                        _ => null,
                    };
                }
                Skip(r, type);
            }
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or EndOfStreamException)
        {
            return null;
        }
    }

    private static string ReadString(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes(checked((int)r.ReadUInt64())));

    private static void Skip(BinaryReader r, uint type)
    {
        switch (type)
        {
            case 0 or 1 or 7: r.BaseStream.Seek(1, SeekOrigin.Current); break;
            case 2 or 3: r.BaseStream.Seek(2, SeekOrigin.Current); break;
            case 4 or 5 or 6: r.BaseStream.Seek(4, SeekOrigin.Current); break;
            case 10 or 11 or 12: r.BaseStream.Seek(8, SeekOrigin.Current); break;
            case 8: r.BaseStream.Seek(checked((long)r.ReadUInt64()), SeekOrigin.Current); break;
            case 9:
                var elementType = r.ReadUInt32();
                var n = r.ReadUInt64();
                for (ulong i = 0; i < n; i++) Skip(r, elementType);
                break;
            default: throw new EndOfStreamException($"unknown GGUF value type {type}");
        }
    }
}
