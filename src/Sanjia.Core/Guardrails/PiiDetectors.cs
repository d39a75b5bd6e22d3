using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Sanjia.Core.Guardrails;

/// <summary><c>pii.email</c>: an address with a dotted domain whose last label is letters and not an image extension (<c>icon@2x.png</c>).</summary>
internal sealed partial class EmailDetector() : RegexDetector(RuleIds.Email, Pattern())
{
    [GeneratedRegex(@"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+(?<tld>[A-Za-z]{2,24})(?![A-Za-z0-9\-])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override bool Accept(ReadOnlySpan<char> match) => !IsFileExtension(match[(match.LastIndexOf('.') + 1)..]);

    /// <summary>The pattern runs only around each '@': from the start of the local part before it to 256 characters after.</summary>
    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf('@');
            if (i < 0) return;
            var at = from + i;
            var start = at;
            while (start > 0 && at - start < 64 && IsLocal(text[start - 1])) start--;
            var window = text[start..Math.Min(text.Length, at + 256)];
            from = at + 1;
            foreach (var m in Pattern().EnumerateMatches(window))
            {
                if (m.Index > at - start) break;
                if (m.Index + m.Length <= at - start) continue;
                if (Accept(window.Slice(m.Index, m.Length)))
                {
                    found.Add(new(RuleId, start + m.Index, m.Length));
                    from = start + m.Index + m.Length;
                }
                break;
            }
        }
    }

    private static bool IsLocal(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-';

    /// <summary>Retina asset names (<c>logo@2x.png</c>) have the shape of an address; no such TLD exists.</summary>
    private static bool IsFileExtension(ReadOnlySpan<char> tld) =>
        tld.Equals("png", StringComparison.OrdinalIgnoreCase) || tld.Equals("jpg", StringComparison.OrdinalIgnoreCase)
        || tld.Equals("jpeg", StringComparison.OrdinalIgnoreCase) || tld.Equals("gif", StringComparison.OrdinalIgnoreCase)
        || tld.Equals("svg", StringComparison.OrdinalIgnoreCase) || tld.Equals("webp", StringComparison.OrdinalIgnoreCase)
        || tld.Equals("bmp", StringComparison.OrdinalIgnoreCase) || tld.Equals("ico", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// <c>pii.cn_mobile</c>: mainland-China mobile numbers (1[3-9] + 9 digits), optionally with +86/0086/86 and spaces or
/// dashes in the 3-4-4 grouping, never inside a longer run of digits.
/// </summary>
internal sealed partial class CnMobileDetector() : RegexDetector(RuleIds.CnMobile, Pattern())
{
    [GeneratedRegex(@"(?<![0-9.+\-])(?:(?:\+|00)?86[ \-]?)?1[3-9][0-9](?:[0-9]{8}|[ \-][0-9]{4}[ \-][0-9]{4})(?![0-9]|[ \-][0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override int DigitRun => 11;
}

/// <summary>
/// <c>pii.cn_resident_id</c>: 18-character PRC resident ID numbers (GB 11643-1999) with a province code that exists,
/// a birth date that exists and is not in the future, and the MOD 11-2 check character.
/// </summary>
internal sealed partial class CnResidentIdDetector() : RegexDetector(RuleIds.CnResidentId, Pattern())
{
    [GeneratedRegex(@"(?<![0-9A-Za-z])[1-8][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override int DigitRun => 17;

    protected override bool Accept(ReadOnlySpan<char> id) =>
        IsProvince((id[0] - '0') * 10 + id[1] - '0') && IsBirthDate(id.Slice(6, 8)) && Checksums.ResidentIdCheck(id);

    /// <summary>The province-level codes of GB/T 2260 (11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71 Taiwan, 81-82 Hong Kong, Macao).</summary>
    private static bool IsProvince(int code) => code is (>= 11 and <= 15) or (>= 21 and <= 23) or (>= 31 and <= 37) or (>= 41 and <= 46)
        or (>= 50 and <= 54) or (>= 61 and <= 65) or 71 or 81 or 82;

    private static bool IsBirthDate(ReadOnlySpan<char> yyyymmdd)
    {
        var y = int.Parse(yyyymmdd[..4], provider: System.Globalization.CultureInfo.InvariantCulture);
        var m = (yyyymmdd[4] - '0') * 10 + yyyymmdd[5] - '0';
        var d = (yyyymmdd[6] - '0') * 10 + yyyymmdd[7] - '0';
        if (y < 1880 || m is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(y, m)) return false;
        // Issued from birth: a date after today is not a birth date (an order number that starts with a date is).
        return new DateOnly(y, m, d) <= DateOnly.FromDateTime(DateTime.UtcNow);
    }
}

/// <summary>
/// <c>pii.bank_card</c>: 13-19 digits, plain or grouped by spaces or dashes, with a card brand's prefix and length
/// (Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay) and a valid Luhn check digit.
/// </summary>
internal sealed partial class BankCardDetector() : RegexDetector(RuleIds.BankCard, Pattern())
{
    [GeneratedRegex(@"(?<![0-9\-])(?:[0-9]{13,19}|[0-9]{4}(?:[ \-][0-9]{4}){2,3}(?:[ \-][0-9]{1,3})?|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5})(?![0-9]|[ \-][0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    protected override int DigitRun => 13;

    protected override bool Accept(ReadOnlySpan<char> match)
    {
        Span<char> digits = stackalloc char[19];
        var n = 0;
        foreach (var c in match)
        {
            if (c is >= '0' and <= '9')
            {
                if (n == 19) return false;
                digits[n++] = c;
            }
        }
        var d = digits[..n];
        return n >= 13 && IsBrand(d) && !AllSame(d) && Checksums.Luhn(d);
    }

    private static bool AllSame(ReadOnlySpan<char> d) => d.IndexOfAnyExcept(d[0]) < 0;

    private static int Prefix(ReadOnlySpan<char> d, int n)
    {
        var v = 0;
        for (var i = 0; i < n; i++) v = v * 10 + d[i] - '0';
        return v;
    }

    /// <summary>Issuer prefixes and lengths (ISO/IEC 7812 ranges as the brands publish them).</summary>
    private static bool IsBrand(ReadOnlySpan<char> d)
    {
        var len = d.Length;
        var p2 = Prefix(d, 2);
        var p4 = Prefix(d, 4);
        return d[0] switch
        {
            '4' => len is 13 or 16 or 19,                                                  // Visa
            '5' => p2 is >= 51 and <= 55 && len == 16,                                     // Mastercard
            '2' => p4 is >= 2221 and <= 2720 && len == 16,                                 // Mastercard 2-series
            '3' => (p2 is 34 or 37 && len == 15)                                           // American Express
                   || (p4 is >= 3528 and <= 3589 && len is >= 16 and <= 19)                // JCB
                   || ((p2 is 36 or 38 || Prefix(d, 3) is >= 300 and <= 305) && len == 14), // Diners Club
            // UnionPay 62 with 16 or 19 digits (an 18-digit run starting 62 is a Gansu resident ID far more often),
            // Discover 6011, 644-649, 65.
            '6' => (p2 == 62 && len is 16 or 19) || ((p4 == 6011 || p2 == 65 || Prefix(d, 3) is >= 644 and <= 649) && len is >= 16 and <= 19),
            _ => false,
        };
    }
}

/// <summary><c>pii.iban</c>: an IBAN of its country's registered length whose MOD 97-10 check digits hold, compact or in groups of four.</summary>
internal sealed partial class IbanDetector : Detector
{
    public override string RuleId => RuleIds.Iban;

    [GeneratedRegex(@"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>The lengths of the SWIFT IBAN registry's countries.</summary>
    private static readonly Dictionary<int, int> Lengths = Build(
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 " +
        "GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 " +
        "ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 " +
        "TR26 UA29 VA22 VG24 XK20");

    private static Dictionary<int, int> Build(string table)
    {
        var map = new Dictionary<int, int>();
        foreach (var e in table.Split(' ')) map[e[0] << 8 | e[1]] = int.Parse(e.AsSpan(2), provider: System.Globalization.CultureInfo.InvariantCulture);
        return map;
    }

    /// <summary>The longest the pattern matches: 2 letters, 2 digits, 7 groups of 4 and one of 3, each after a space.</summary>
    private const int MaxLength = 43;

    /// <summary>
    /// The pattern runs only from each start an IBAN can have (two capitals and two digits after something that is not
    /// a letter or digit), found by a vectorized search for capitals, over the window the longest match needs.
    /// </summary>
    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        Span<char> compact = stackalloc char[34];
        var i = 0;
        while (i + 4 <= text.Length)
        {
            var next = text[i..].IndexOfAnyInRange('A', 'Z');
            if (next < 0) return;
            var at = i + next;
            i = at + 1;
            if (at + 4 > text.Length || !char.IsAsciiLetterUpper(text[at + 1]) || !char.IsAsciiDigit(text[at + 2]) || !char.IsAsciiDigit(text[at + 3])
                || (at > 0 && char.IsAsciiLetterOrDigit(text[at - 1])))
            {
                continue;
            }
            var from = Math.Max(0, at - 1);
            var window = text[from..Math.Min(text.Length, at + MaxLength + 1)];
            foreach (var m in Pattern().EnumerateMatches(window))
            {
                if (from + m.Index != at) continue;
                // As over the whole text: the next match is looked for after this one, valid or not.
                i = at + m.Length;
                var v = window.Slice(m.Index, m.Length);
                if (!Lengths.TryGetValue(v[0] << 8 | v[1], out var want)) break;
                // Take exactly the country's length (a grouped IBAN may be followed by a short word the pattern took in).
                int n = 0, end = 0;
                for (; end < v.Length && n < want; end++)
                {
                    if (v[end] != ' ') compact[n++] = v[end];
                }
                if (n != want || (end < v.Length && v[end] != ' ')) break;
                if (Checksums.IbanMod97(compact[..n])) found.Add(new(RuleId, at, end));
                break;
            }
        }
    }
}

/// <summary>
/// <c>pii.ip</c>: IPv4 addresses (dotted quads with octets 0-255, no leading zeros) that are not version strings
/// (a quad right after "version", "v", "版本" or "==" is one), and IPv6 addresses as <see cref="IPAddress"/> parses
/// them, with at least one digit (C++'s <c>std::</c> and <c>a::b</c> are not addresses).
/// </summary>
internal sealed partial class IpDetector : Detector
{
    public override string RuleId => RuleIds.Ip;

    [GeneratedRegex(@"(?<![A-Za-z0-9_.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?![A-Za-z0-9_]|\.[0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex V4();

    [GeneratedRegex(@"(?<![A-Za-z0-9_:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?![A-Za-z0-9_:]|\.[0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex V6();

    private static readonly SearchValues<char> V4Chars = SearchValues.Create("0123456789.");
    private static readonly SearchValues<char> V6Chars = SearchValues.Create("0123456789abcdefABCDEF:.");

    /// <summary>
    /// The patterns run only over the runs of characters an address is made of: for IPv4 each run of digits and dots
    /// around a digit-dot-digit, for IPv6 each run of hex digits, colons and dots around two colons at most five apart,
    /// both found by vectorized searches. A match can only start where such a run starts (the patterns' lookbehinds
    /// refuse a digit, a dot or a colon before), so the result is the same as a pattern over the whole text.
    /// </summary>
    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        var first = found.Count;
        foreach (var (from, to) in new Runs(text, ':', V6Chars))
        {
            var window = text[from..to];
            foreach (var m in V6().EnumerateMatches(window))
            {
                var v = window.Slice(m.Index, m.Length);
                if (v.IndexOfAnyInRange('0', '9') >= 0 && IPAddress.TryParse(v, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    found.Add(new(RuleId, from + m.Index, m.Length));
                }
            }
        }
        var v6 = found.Count;
        foreach (var (from, to) in new Runs(text, '.', V4Chars))
        {
            foreach (var m in V4().EnumerateMatches(text[from..to]))
            {
                var index = from + m.Index;
                if (AfterVersionWord(text[..index]) || InsideV6(found, first, v6, index)) continue;
                found.Add(new(RuleId, index, m.Length));
            }
        }
    }

    /// <summary>
    /// The windows to run a pattern over: each maximal run of <c>chars</c> around a <c>mark</c> that has an address's
    /// shape (a digit on both sides of a dot; another colon within five characters of a colon), with one character of
    /// context before and two after for the lookarounds.
    /// </summary>
    private ref struct Runs(ReadOnlySpan<char> text, char mark, SearchValues<char> chars)
    {
        private readonly ReadOnlySpan<char> _text = text;
        private int _i;

        public (int From, int To) Current { get; private set; }

        public readonly Runs GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_i < _text.Length)
            {
                var next = _text[_i..].IndexOf(mark);
                if (next < 0)
                {
                    _i = _text.Length;
                    return false;
                }
                var at = _i + next;
                _i = at + 1;
                if (!Shaped(at)) continue;
                var start = at;
                while (start > 0 && chars.Contains(_text[start - 1])) start--;
                var run = _text[at..].IndexOfAnyExcept(chars);
                var end = run < 0 ? _text.Length : at + run;
                _i = end;
                Current = (Math.Max(0, start - 1), Math.Min(_text.Length, end + 2));
                return true;
            }
            return false;
        }

        private readonly bool Shaped(int at)
        {
            if (mark == '.') return at > 0 && at + 1 < _text.Length && char.IsAsciiDigit(_text[at - 1]) && char.IsAsciiDigit(_text[at + 1]);
            var after = _text[(at + 1)..Math.Min(_text.Length, at + 6)];
            return after.IndexOf(':') >= 0;
        }
    }

    /// <summary>The dotted quad that ends an IPv6 address (<c>::ffff:192.0.2.128</c>) is part of that address.</summary>
    private static bool InsideV6(List<Detection> found, int from, int to, int index)
    {
        for (var i = from; i < to; i++)
        {
            if (found[i].Start <= index && index < found[i].End) return true;
        }
        return false;
    }

    /// <summary>Whether the text before a dotted quad ends with a version marker (spaces, ':' and '=' between them ignored).</summary>
    private static bool AfterVersionWord(ReadOnlySpan<char> before)
    {
        var t = before[Math.Max(0, before.Length - 24)..].TrimEnd(" \t");
        // Package pins (numpy==1.2.3.4, pkg>=1.2.3.4); host=10.0.0.1 stays an address.
        if (t.EndsWith("==", StringComparison.Ordinal) || t.EndsWith(">=", StringComparison.Ordinal) || t.EndsWith("<=", StringComparison.Ordinal) || t.EndsWith("~=", StringComparison.Ordinal)) return true;
        t = t.TrimEnd(":：=");
        return EndsWithWord(t, "version") || EndsWithWord(t, "ver") || EndsWithWord(t, "ver.") || EndsWithWord(t, "release")
            || EndsWithWord(t, "build") || EndsWithWord(t, "firmware") || EndsWithWord(t, "v")
            || t.EndsWith("版本", StringComparison.Ordinal) || t.EndsWith("版本号", StringComparison.Ordinal);
    }

    /// <summary>Whether <paramref name="t"/> ends with <paramref name="word"/> as a whole word ("server" does not end with the word "ver").</summary>
    private static bool EndsWithWord(ReadOnlySpan<char> t, string word) =>
        t.EndsWith(word, StringComparison.OrdinalIgnoreCase) && (t.Length == word.Length || !char.IsAsciiLetter(t[^(word.Length + 1)]));
}
