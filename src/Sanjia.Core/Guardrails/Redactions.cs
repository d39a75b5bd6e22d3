using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// The placeholders one request's redaction issued (<c>[EMAIL_1]</c> → the address), to restore them in the answer to
/// the same caller. Held only by the request: never logged, stored or put in the ledger.
/// </summary>
internal sealed class Redactions
{
    private readonly List<(string Placeholder, string Original)> _map = [];
    private readonly Dictionary<string, string> _byOriginal = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    public int Count => _map.Count;

    /// <summary>The longest placeholder issued: the most a stream ever holds back.</summary>
    public int MaxPlaceholderLength { get; private set; }

    public string PlaceholderFor(string ruleId, string original)
    {
        if (_byOriginal.TryGetValue(original, out var existing)) return existing;
        var label = Label(ruleId);
        var n = _counts.GetValueOrDefault(label) + 1;
        _counts[label] = n;
        var placeholder = $"[{label}_{n}]";
        _byOriginal[original] = placeholder;
        _map.Add((placeholder, original));
        MaxPlaceholderLength = Math.Max(MaxPlaceholderLength, placeholder.Length);
        return placeholder;
    }

    /// <summary>What an output check puts in place of a masked span: the kind, no number, nothing to restore.</summary>
    public static string Mask(string ruleId) => $"[{Label(ruleId)}]";

    private static string Label(string ruleId) => ruleId switch
    {
        RuleIds.Email => "EMAIL",
        RuleIds.Phone => "PHONE",
        RuleIds.CnMobile => "MOBILE",
        RuleIds.CnResidentId => "ID_NUMBER",
        RuleIds.BankCard => "CARD_NUMBER",
        RuleIds.Iban => "IBAN",
        RuleIds.Ip => "IP_ADDRESS",
        _ when ruleId.StartsWith("secret.", StringComparison.Ordinal) => "SECRET",
        _ => "REDACTED",
    };

    /// <summary>The text with every placeholder replaced by its original.</summary>
    public string Restore(string text)
    {
        if (text.IndexOf('[') < 0) return text;
        foreach (var (p, o) in _map) text = text.Replace(p, o, StringComparison.Ordinal);
        return text;
    }

    /// <summary>
    /// Where a held-back tail starts: the last '[' when what follows it could still grow into a placeholder (a stream
    /// may split <c>[EMAIL_1]</c> across chunks), else the text's length (nothing held).
    /// </summary>
    public int HoldFrom(string text)
    {
        var at = text.LastIndexOf('[');
        if (at < 0 || text.Length - at >= MaxPlaceholderLength) return text.Length;
        var tail = text.AsSpan(at);
        foreach (var (p, _) in _map)
        {
            if (p.AsSpan().StartsWith(tail, StringComparison.Ordinal)) return at;
        }
        return text.Length;
    }

    /// <summary>A JSON body with every placeholder in it replaced by its original, JSON-escaped; null when it holds none.</summary>
    public byte[]? RestoreJson(ReadOnlySpan<byte> json)
    {
        ArrayBufferWriter<byte>? output = null;
        var copied = 0;
        var from = 0;
        while (true)
        {
            var i = json[from..].IndexOf((byte)'[');
            if (i < 0) break;
            var at = from + i;
            var matched = -1;
            for (var k = 0; k < _map.Count; k++)
            {
                if (StartsWithAscii(json[at..], _map[k].Placeholder)) { matched = k; break; }
            }
            if (matched < 0) { from = at + 1; continue; }
            output ??= new ArrayBufferWriter<byte>(json.Length + 64);
            output.Write(json[copied..at]);
            output.Write(Encode(_map[matched].Original));
            copied = from = at + _map[matched].Placeholder.Length;
        }
        if (output is null) return null;
        output.Write(json[copied..]);
        return output.WrittenSpan.ToArray();
    }

    private static bool StartsWithAscii(ReadOnlySpan<byte> bytes, string ascii)
    {
        if (bytes.Length < ascii.Length) return false;
        for (var i = 0; i < ascii.Length; i++)
        {
            if (bytes[i] != ascii[i]) return false;
        }
        return true;
    }

    /// <summary>A string's JSON-escaped UTF-8 without quotes; non-ASCII text kept as is, as callers' own JSON usually has it.</summary>
    internal static ReadOnlySpan<byte> Encode(string text) => JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;

    /// <summary>A JSON string token (with quotes) for <paramref name="text"/>.</summary>
    internal static byte[] QuotedJson(string text)
    {
        var encoded = Encode(text);
        var bytes = new byte[encoded.Length + 2];
        bytes[0] = (byte)'"';
        encoded.CopyTo(bytes.AsSpan(1));
        bytes[^1] = (byte)'"';
        return bytes;
    }

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
