namespace Sanjia.Core.Guardrails;

/// <summary>The check digits the structured detectors validate, on spans, without allocating.</summary>
internal static class Checksums
{
    /// <summary>Luhn (ISO/IEC 7812-1) over the digits of <paramref name="s"/>, skipping spaces and dashes.</summary>
    public static bool Luhn(ReadOnlySpan<char> s)
    {
        int sum = 0, n = 0;
        for (var i = s.Length - 1; i >= 0; i--)
        {
            var c = s[i];
            if (c is ' ' or '-') continue;
            var d = c - '0';
            if ((n++ & 1) == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return n > 0 && sum % 10 == 0;
    }

    private static ReadOnlySpan<byte> IdWeights => [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

    /// <summary>GB 11643-1999's ISO 7064 MOD 11-2 check character of an 18-character resident ID.</summary>
    public static bool ResidentIdCheck(ReadOnlySpan<char> id)
    {
        var sum = 0;
        for (var i = 0; i < 17; i++) sum += (id[i] - '0') * IdWeights[i];
        var expected = "10X98765432"[sum % 11];
        var actual = id[17] == 'x' ? 'X' : id[17];
        return actual == expected;
    }

    /// <summary>ISO 13616 / ISO 7064 MOD 97-10 over an IBAN given without spaces: the remainder must be 1.</summary>
    public static bool IbanMod97(ReadOnlySpan<char> iban)
    {
        var r = 0;
        for (var k = 0; k < iban.Length; k++)
        {
            var c = iban[(k + 4) % iban.Length];
            if (c is >= '0' and <= '9')
            {
                r = (r * 10 + (c - '0')) % 97;
            }
            else if (c is >= 'A' and <= 'Z')
            {
                r = (r * 100 + (c - 'A' + 10)) % 97;
            }
            else
            {
                return false;
            }
        }
        return r == 1;
    }

    private static readonly uint[] CrcTable = MakeCrcTable();

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    /// <summary>CRC-32 (IEEE 802.3, as zlib's) over ASCII characters.</summary>
    public static uint Crc32(ReadOnlySpan<char> s)
    {
        var c = 0xFFFFFFFFu;
        foreach (var ch in s) c = CrcTable[(c ^ (byte)ch) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Whether six characters are the base-62 (0-9A-Za-z) form of <paramref name="value"/>, zero-padded.</summary>
    public static bool IsBase62Of(ReadOnlySpan<char> six, uint value)
    {
        for (var i = 5; i >= 0; i--)
        {
            if (six[i] != Base62[(int)(value % 62)]) return false;
            value /= 62;
        }
        return true;
    }
}
