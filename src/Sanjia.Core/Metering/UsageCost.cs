using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Metering;

/// <summary>
/// The cost extension of an OpenAI <c>usage</c> object (docs/metering.md): <c>"cost"</c> (a number in the request's
/// currency, or <c>null</c> when unpriced) and <c>"cost_currency"</c> (absent when unpriced), added just before the
/// object's closing brace. The rest of the JSON is copied as it is: one chunk or body is rewritten by three span
/// copies into the output, with no parse and no allocation (the OpenAPI schema allows extra fields in <c>usage</c>).
/// </summary>
public static class UsageCost
{
    /// <summary>The most the cost adds: <c>,"cost":</c> + a decimal (at most 31 characters) + <c>,"cost_currency":"…"</c>.</summary>
    public const int MaxAddedBytes = 128;

    /// <summary>Where the <c>usage</c> object of a complete body or chunk closes, or -1 (a scan, for bodies an adapter did not scan).</summary>
    public static int FindUsageEnd(ReadOnlySpan<byte> json) => ChunkScanner.Scan(json, null).UsageEnd;

    /// <summary>The same two members through a JSON writer, for usage objects the gateway writes itself (Anthropic, Responses streams).</summary>
    public static void WriteMembers(Utf8JsonWriter w, Cost cost)
    {
        if (cost.Amount is { } amount && cost.Currency is { } currency)
        {
            w.WriteNumber("cost"u8, amount);
            w.WriteString("cost_currency"u8, currency);
        }
        else
        {
            w.WriteNull("cost"u8);
        }
    }

    /// <summary>How long <paramref name="json"/> becomes with the cost added.</summary>
    public static int Length(ReadOnlySpan<byte> json, int usageEnd, Cost cost)
    {
        Span<byte> fragment = stackalloc byte[MaxAddedBytes];
        return json.Length + Fragment(fragment, json, usageEnd, cost);
    }

    /// <summary>Writes <paramref name="json"/> with the cost added into the usage object that closes at <paramref name="usageEnd"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> json, int usageEnd, Cost cost)
    {
        var span = output.GetSpan(json.Length + MaxAddedBytes);
        output.Advance(Write(span, json, usageEnd, cost));
    }

    /// <summary>Writes into <paramref name="destination"/> (at least <c>json.Length + MaxAddedBytes</c> long); returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> json, int usageEnd, Cost cost)
    {
        json[..usageEnd].CopyTo(destination);
        var added = Fragment(destination[usageEnd..], json, usageEnd, cost);
        json[usageEnd..].CopyTo(destination[(usageEnd + added)..]);
        return json.Length + added;
    }

    /// <summary>The added members, written into <paramref name="to"/>; returns their length.</summary>
    private static int Fragment(Span<byte> to, ReadOnlySpan<byte> json, int usageEnd, Cost cost)
    {
        var n = 0;
        if (!IsEmptyObject(json, usageEnd))
        {
            to[n++] = (byte)',';
        }
        n += Copy("\"cost\":"u8, to[n..]);
        if (cost.Amount is not { } amount || cost.Currency is not { } currency)
        {
            return n + Copy("null"u8, to[n..]);
        }
        amount.TryFormat(to[n..], out var digits, default, CultureInfo.InvariantCulture);
        n += digits;
        n += Copy(",\"cost_currency\":\""u8, to[n..]);
        n += WriteCurrency(to[n..], currency);
        to[n++] = (byte)'"';
        return n;
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    /// <summary>Currency codes are validated as three letters; anything else is cut to 8 characters and JSON-escaped (at most 48 bytes).</summary>
    private static int WriteCurrency(Span<byte> to, string currency)
    {
        var plain = currency.Length <= 8;
        foreach (var c in currency) plain &= char.IsAsciiLetterOrDigit(c);
        if (plain)
        {
            for (var i = 0; i < currency.Length; i++) to[i] = (byte)currency[i];
            return currency.Length;
        }
        var encoded = JsonEncodedText.Encode(currency.Length > 8 ? currency[..8] : currency).EncodedUtf8Bytes;
        return Copy(encoded, to);
    }

    /// <summary>Whether the object closing at <paramref name="end"/> has no members (then no comma goes before the cost).</summary>
    private static bool IsEmptyObject(ReadOnlySpan<byte> json, int end)
    {
        for (var i = end - 1; i >= 0; i--)
        {
            switch (json[i])
            {
                case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                    continue;
                case (byte)'{':
                    return true;
                default:
                    return false;
            }
        }
        return false;
    }
}
