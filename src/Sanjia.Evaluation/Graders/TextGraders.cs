using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sanjia.Evaluation.Graders;

/// <summary><c>exact</c>: the answer equals the expected text (trimmed unless <c>trim: false</c>; <c>ignore_case</c>).</summary>
public sealed class ExactMatchGrader : IGrader
{
    private readonly string _expected;
    private readonly bool _trim;
    private readonly StringComparison _comparison;

    public ExactMatchGrader(GraderSettings s)
    {
        _expected = s.ExpectedText();
        _trim = s.Bool("trim", true);
        _comparison = s.Bool("ignore_case", false) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        s.RejectUnknown();
    }

    public ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        var output = _trim ? context.Output.Trim() : context.Output;
        var expected = _trim ? _expected.Trim() : _expected;
        return ValueTask.FromResult(string.Equals(output, expected, _comparison) ? Grade.Pass() : Grade.Fail("answer differs from the expected text"));
    }
}

/// <summary>
/// <c>contains</c>: the answer contains the expected text, or each of a list (<c>mode: all</c>, the default, scores
/// the fraction found and passes when all are; <c>mode: any</c> passes when one is).
/// </summary>
public sealed class ContainsGrader : IGrader
{
    private readonly string[] _needles;
    private readonly bool _any;
    private readonly StringComparison _comparison;

    public ContainsGrader(GraderSettings s)
    {
        _needles = s.ExpectedNode() switch
        {
            JsonArray a => [.. a.Select(n => n is JsonValue v && v.TryGetValue<string>(out var t) ? t : n?.ToJsonString() ?? "")],
            JsonValue v when v.TryGetValue<string>(out var t) => [t],
            var n => [n.ToJsonString()],
        };
        if (_needles.Length == 0 || _needles.Any(string.IsNullOrEmpty)) throw s.Error("value", "needs non-empty text to look for.");
        _any = (s.String("mode") ?? "all") switch
        {
            "all" => false,
            "any" => true,
            var m => throw s.Error("mode", $"'{m}' is not 'all' or 'any'."),
        };
        _comparison = s.Bool("ignore_case", false) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        s.RejectUnknown();
    }

    public ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        var found = _needles.Count(n => context.Output.Contains(n, _comparison));
        var missing = _needles.Where(n => !context.Output.Contains(n, _comparison)).Take(3).ToList();
        var reason = missing.Count == 0 ? null : "missing: " + string.Join(", ", missing.Select(m => $"'{m}'"));
        var grade = _any
            ? (found > 0 ? Grade.Pass() : Grade.Fail(reason))
            : new Grade((double)found / _needles.Length, found == _needles.Length, reason);
        return ValueTask.FromResult(grade);
    }
}

/// <summary><c>regex</c>: the answer matches <c>pattern</c> (.NET syntax; <c>ignore_case</c>; one second time limit).</summary>
public sealed class RegexGrader : IGrader
{
    private readonly Regex _regex;

    public RegexGrader(GraderSettings s)
    {
        var pattern = s.RequiredString("pattern");
        var options = RegexOptions.CultureInvariant | (s.Bool("ignore_case", false) ? RegexOptions.IgnoreCase : RegexOptions.None);
        try
        {
            _regex = new Regex(pattern, options, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw s.Error("pattern", $"not a valid regular expression: {e.Message}");
        }
        s.RejectUnknown();
    }

    public ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        try
        {
            return ValueTask.FromResult(_regex.IsMatch(context.Output) ? Grade.Pass() : Grade.Fail("no match"));
        }
        catch (RegexMatchTimeoutException)
        {
            return ValueTask.FromResult(Grade.Broken("pattern timed out"));
        }
    }
}
