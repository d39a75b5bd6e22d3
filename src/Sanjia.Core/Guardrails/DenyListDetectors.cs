using System.Buffers;
using System.Text.RegularExpressions;

namespace Sanjia.Core.Guardrails;

/// <summary><c>deny.keyword</c>: any of a policy's keywords, case-insensitive, found with one vectorized multi-string search.</summary>
public sealed class KeywordDetector(IReadOnlyList<string> keywords) : Detector
{
    private readonly SearchValues<string> _keywords = SearchValues.Create([.. keywords], StringComparison.OrdinalIgnoreCase);

    public override string RuleId => RuleIds.DenyKeyword;

    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        var offset = 0;
        while (offset < text.Length)
        {
            var i = text[offset..].IndexOfAny(_keywords);
            if (i < 0) return;
            var at = offset + i;
            var length = LongestAt(text[at..]);
            found.Add(new(RuleId, at, length));
            offset = at + Math.Max(1, length);
        }
    }

    private int LongestAt(ReadOnlySpan<char> text)
    {
        var best = 0;
        foreach (var k in keywords)
        {
            if (k.Length > best && text.StartsWith(k, StringComparison.OrdinalIgnoreCase)) best = k.Length;
        }
        return best;
    }
}

/// <summary>
/// <c>deny.regex</c>: a policy's own patterns (.NET syntax, case-insensitive), run without backtracking so a pattern
/// from configuration cannot take time exponential in the prompt.
/// </summary>
public sealed class PatternDetector : Detector
{
    private readonly Regex[] _patterns;

    public PatternDetector(IReadOnlyList<string> patterns) =>
        _patterns = [.. patterns.Select(p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.NonBacktracking))];

    public override string RuleId => RuleIds.DenyRegex;

    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        foreach (var p in _patterns)
        {
            foreach (var m in p.EnumerateMatches(text))
            {
                if (m.Length > 0) found.Add(new(RuleId, m.Index, m.Length));
            }
        }
    }
}
