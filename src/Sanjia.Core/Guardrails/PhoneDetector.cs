using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// <c>pii.phone</c>: phone numbers written in international form (<c>+</c> and a country code), validated against
/// libphonenumber's metadata for that country (<see cref="PhoneNumberUtil.IsValidNumber"/>). A cheap pattern finds
/// candidates; only those are parsed (the parser allocates: its cost is stated on its own in bench/README.md).
/// National forms without a country code are ambiguous across countries and are left to <c>pii.cn_mobile</c>.
/// </summary>
internal sealed partial class PhoneDetector : Detector
{
    private static readonly Lazy<PhoneNumberUtil> Util = new(PhoneNumberUtil.GetInstance);

    public override string RuleId => RuleIds.Phone;

    [GeneratedRegex(@"(?<![A-Za-z0-9_+])\+[1-9][0-9]{0,2}(?:[ \-.]?\(?[0-9]{1,5}\)?){1,6}(?![A-Za-z0-9_])", RegexOptions.CultureInvariant)]
    private static partial Regex Candidate();

    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        if (text.IndexOf('+') < 0) return;
        foreach (var m in Candidate().EnumerateMatches(text))
        {
            // Drop trailing groups until the rest is a valid number: "+44 20 7946 0958 2024" is a number and a year.
            var v = text.Slice(m.Index, m.Length);
            if (v[^1] == ')' && v.IndexOf('(') < 0) v = v[..^1]; // "(phone: +44 20 7946 0958)": the sentence's parenthesis
            while (v.Length > 0)
            {
                var digits = 0;
                foreach (var c in v) if (char.IsAsciiDigit(c)) digits++;
                if (digits < 7) break;
                if (digits <= 17 && IsValid(v))
                {
                    found.Add(new(RuleId, m.Index, v.Length));
                    break;
                }
                var cut = v.LastIndexOfAny(' ', '-', '.');
                if (cut <= 0) break;
                v = v[..cut].TrimEnd(" -.(");
            }
        }
    }

    private static bool IsValid(ReadOnlySpan<char> candidate)
    {
        try
        {
            return Util.Value.IsValidNumber(Util.Value.Parse(candidate.ToString(), "ZZ"));
        }
        catch (NumberParseException)
        {
            return false;
        }
    }
}
