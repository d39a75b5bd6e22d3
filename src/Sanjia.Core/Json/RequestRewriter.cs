using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Json;

/// <summary>Splices changes into a request body without re-serialising it: every other byte stays as the caller sent it.</summary>
public static class RequestRewriter
{
    private static readonly byte[] StreamUsageProperty = "\"stream_options\":{\"include_usage\":true},"u8.ToArray();

    /// <summary>Rewrites the top-level <c>model</c> value and optionally adds <c>stream_options.include_usage</c>.</summary>
    public static byte[] Rewrite(ChatRequest request, string upstreamModel, bool addStreamUsage) =>
        Rewrite(request.Body.Span, request.ModelValueStart, request.ModelValueLength, upstreamModel, addStreamUsage);

    public static byte[] Rewrite(ReadOnlySpan<byte> body, int modelStart, int modelLength, string upstreamModel, bool addStreamUsage)
    {
        byte[] value = EncodeString(upstreamModel);
        var objectStart = body.IndexOf((byte)'{');
        var extra = addStreamUsage ? StreamUsageProperty.Length : 0;
        var result = new byte[body.Length - modelLength + value.Length + extra];
        var dst = result.AsSpan();
        var written = 0;
        if (addStreamUsage)
        {
            body[..(objectStart + 1)].CopyTo(dst);
            written = objectStart + 1;
            StreamUsageProperty.CopyTo(dst[written..]);
            written += StreamUsageProperty.Length;
            body[(objectStart + 1)..modelStart].CopyTo(dst[written..]);
            written += modelStart - objectStart - 1;
        }
        else
        {
            body[..modelStart].CopyTo(dst);
            written = modelStart;
        }
        value.CopyTo(dst[written..]);
        written += value.Length;
        body[(modelStart + modelLength)..].CopyTo(dst[written..]);
        return result;
    }

    /// <summary>Replaces the first top-level <c>model</c> value of any JSON object body (used for embeddings).</summary>
    public static byte[]? ReplaceModel(ReadOnlySpan<byte> body, string upstreamModel)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isModel = reader.ValueTextEquals("model"u8);
            reader.Read();
            if (isModel && reader.TokenType == JsonTokenType.String)
            {
                return Rewrite(body, (int)reader.TokenStartIndex, (int)(reader.BytesConsumed - reader.TokenStartIndex), upstreamModel, false);
            }
            reader.Skip();
        }
        return null;
    }

    private static byte[] EncodeString(string value)
    {
        // Model names are almost always plain ASCII with nothing to escape: write them directly.
        var plain = true;
        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7E || c == '"' || c == '\\')
            {
                plain = false;
                break;
            }
        }
        if (plain)
        {
            var bytes = new byte[value.Length + 2];
            bytes[0] = (byte)'"';
            System.Text.Encoding.ASCII.GetBytes(value, bytes.AsSpan(1));
            bytes[^1] = (byte)'"';
            return bytes;
        }
        using var buffer = new MemoryStream(value.Length + 8);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStringValue(value);
        }
        return buffer.ToArray();
    }
}
