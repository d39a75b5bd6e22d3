using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Sanjia.Core.Caching;

/// <summary>
/// The one place a cache key is made: a 128-bit XxHash128 over a canonical form of the request, read straight from
/// the caller's bytes (<see cref="Abstractions.ChatRequest.Body"/>, which <c>ChatRequestParser</c> has already
/// validated: nothing is re-serialised). The form is: a version byte, the scope, the model's alias (not the
/// <c>model</c> value the caller spelt), then every top-level field except those that do not change the answer
/// (<see cref="IsIgnored"/>: <c>user</c>, <c>metadata</c>, <c>stream</c>, <c>stream_options</c> ...), sorted by name,
/// each value as its JSON tokens: insignificant whitespace, the order of top-level fields, string escapes and the
/// spelling of numbers (<c>0</c>, <c>0.0</c>) do not change the key; the order of keys inside nested objects does
/// (clients serialise one request the same way each time). Bump <see cref="Version"/> when the form changes.
/// </summary>
public static class CacheKey
{
    private const byte Version = 1;

    [ThreadStatic]
    private static XxHash128? t_hash;

    /// <summary>One top-level field: where its name sits in the body, and the hash of its value.</summary>
    [StructLayout(LayoutKind.Auto)]
    private struct Field
    {
        public int NameStart, NameLength;
        public UInt128 Value;
    }

    [ThreadStatic]
    private static XxHash128? t_fieldHash;

    public static UInt128 Compute(ReadOnlySpan<byte> body, string alias, string scope)
    {
        var fieldHash = t_fieldHash ??= new XxHash128();
        Span<byte> scratch = stackalloc byte[512];
        Span<byte> unescaped = stackalloc byte[256];

        // One pass over the body: each kept field's value hashed on its own, so that the fields can then be taken in
        // name order without reading the body again.
        Span<Field> inline = stackalloc Field[24];
        Field[]? rented = null;
        var fields = inline;
        var count = 0;
        scoped var reader = new Utf8JsonReader(body);
        reader.Read(); // the object's '{': the parser has checked the body is one
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = new Field { NameStart = (int)reader.TokenStartIndex + 1, NameLength = reader.ValueSpan.Length };
            var ignored = IsIgnored(reader.ValueSpan);
            reader.Read();
            if (ignored)
            {
                reader.Skip();
                continue;
            }
            fieldHash.Reset();
            var sink = new Sink(fieldHash, scratch);
            AppendValue(ref sink, ref reader, unescaped);
            sink.Flush();
            field.Value = fieldHash.GetCurrentHashAsUInt128();
            if (count == fields.Length)
            {
                var bigger = ArrayPool<Field>.Shared.Rent(fields.Length * 2);
                fields.CopyTo(bigger);
                if (rented is not null) ArrayPool<Field>.Shared.Return(rented);
                fields = rented = bigger;
            }
            fields[count++] = field;
        }
        // Sorted by name (insertion sort: a request has a dozen fields at most).
        for (var i = 1; i < count; i++)
        {
            var f = fields[i];
            var j = i - 1;
            while (j >= 0 && body.Slice(fields[j].NameStart, fields[j].NameLength).SequenceCompareTo(body.Slice(f.NameStart, f.NameLength)) > 0)
            {
                fields[j + 1] = fields[j];
                j--;
            }
            fields[j + 1] = f;
        }
        var hash = t_hash ??= new XxHash128();
        hash.Reset();
        var key = new Sink(hash, scratch);
        key.Byte(Version);
        key.Text(scope);
        key.Text(alias);
        Span<byte> digest = stackalloc byte[16];
        for (var i = 0; i < count; i++)
        {
            key.Bytes(body.Slice(fields[i].NameStart, fields[i].NameLength));
            BitConverter.TryWriteBytes(digest, fields[i].Value);
            key.Bytes(digest);
        }
        if (rented is not null) ArrayPool<Field>.Shared.Return(rented);
        key.Flush();
        return hash.GetCurrentHashAsUInt128();
    }

    /// <summary>Fields that do not change the answer: who is asking, how it is delivered, vendor-side storage and routing hints.</summary>
    private static bool IsIgnored(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("model"u8) // replaced by the alias it resolved to
        || name.SequenceEqual("user"u8) || name.SequenceEqual("metadata"u8) || name.SequenceEqual("safety_identifier"u8)
        || name.SequenceEqual("stream"u8) || name.SequenceEqual("stream_options"u8)
        || name.SequenceEqual("store"u8) || name.SequenceEqual("service_tier"u8)
        || name.SequenceEqual("prompt_cache_key"u8) || name.SequenceEqual("prompt_cache_retention"u8);

    /// <summary>
    /// The value the reader is on, as its tokens (the reader ends on its last token): each token's type, then strings
    /// unescaped and length-prefixed, numbers as doubles.
    /// </summary>
    private static void AppendValue(ref Sink sink, ref Utf8JsonReader reader, scoped Span<byte> unescaped)
    {
        var depth = reader.CurrentDepth;
        while (true)
        {
            sink.Byte((byte)reader.TokenType);
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName or JsonTokenType.String:
                    if (!reader.ValueIsEscaped)
                    {
                        sink.Bytes(reader.ValueSpan);
                    }
                    else if (reader.ValueSpan.Length <= unescaped.Length)
                    {
                        sink.Bytes(unescaped[..reader.CopyString(unescaped)]);
                    }
                    else
                    {
                        sink.Bytes(Encoding.UTF8.GetBytes(reader.GetString()!)); // a long escaped string: rare
                    }
                    break;
                case JsonTokenType.Number:
                    var d = reader.TryGetDouble(out var v) ? v : double.NaN;
                    sink.Double(d == 0 ? 0 : d); // -0 and 0 alike
                    break;
            }
            // A scalar is one token; a container ends with the token back at its own depth.
            if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray) && reader.CurrentDepth == depth) return;
            if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == depth) return;
            reader.Read();
        }
    }

    /// <summary>Buffers small appends so the hash sees a few large ones.</summary>
    private ref struct Sink
    {
        private readonly XxHash128 _hash;
        private readonly Span<byte> _buffer;
        private int _n;

        public Sink(XxHash128 hash, Span<byte> buffer)
        {
            _hash = hash;
            _buffer = buffer;
        }

        public void Byte(byte b)
        {
            if (_n == _buffer.Length) Flush();
            _buffer[_n++] = b;
        }

        public void Double(double d)
        {
            if (_n + 8 > _buffer.Length) Flush();
            BitConverter.TryWriteBytes(_buffer[_n..], d);
            _n += 8;
        }

        /// <summary>Length-prefixed, so that adjacent strings cannot run into each other.</summary>
        public void Bytes(scoped ReadOnlySpan<byte> bytes)
        {
            if (_n + 4 > _buffer.Length) Flush();
            BitConverter.TryWriteBytes(_buffer[_n..], bytes.Length);
            _n += 4;
            if (_n + bytes.Length > _buffer.Length)
            {
                Flush();
                if (bytes.Length > _buffer.Length)
                {
                    _hash.Append(bytes);
                    return;
                }
            }
            bytes.CopyTo(_buffer[_n..]);
            _n += bytes.Length;
        }

        public void Text(string s)
        {
            Span<byte> utf8 = stackalloc byte[256];
            if (Encoding.UTF8.TryGetBytes(s, utf8, out var n)) Bytes(utf8[..n]);
            else Bytes(Encoding.UTF8.GetBytes(s));
        }

        public void Flush()
        {
            _hash.Append(_buffer[.._n]);
            _n = 0;
        }
    }
}
