using System.Globalization;
using System.Text.RegularExpressions;

namespace Sanjia.Evaluation.Graders;

/// <summary>
/// <c>numeric</c>: a number in the answer (the last one unless <c>pick: first</c>; <c>1,234.5</c> is read as 1234.5)
/// is within <c>tolerance</c> (absolute, default 0) or <c>relative_tolerance</c> (a fraction) of the expected number.
/// </summary>
public sealed partial class NumericGrader : IGrader
{
    private readonly double _expected;
    private readonly double _tolerance;
    private readonly double _relative;
    private readonly bool _first;

    public NumericGrader(GraderSettings s)
    {
        var text = s.ExpectedText().Trim().Trim('"');
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _expected))
        {
            throw s.Error("value", $"expected value '{text}' is not a number.");
        }
        _tolerance = s.Number("tolerance") ?? 0;
        _relative = s.Number("relative_tolerance") ?? 0;
        if (_tolerance < 0 || _relative < 0) throw s.Error("tolerance", "must not be negative.");
        _first = (s.String("pick") ?? "last") switch
        {
            "last" => false,
            "first" => true,
            var p => throw s.Error("pick", $"'{p}' is not 'first' or 'last'."),
        };
        s.RejectUnknown();
    }

    public ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        var matches = Number().Matches(context.Output);
        if (matches.Count == 0) return ValueTask.FromResult(Grade.Fail("no number in the answer"));
        var raw = (_first ? matches[0] : matches[^1]).Value.Replace(",", "", StringComparison.Ordinal);
        var value = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        var allowed = Math.Max(_tolerance, _relative * Math.Abs(_expected));
        var ok = Math.Abs(value - _expected) <= allowed + 1e-12;
        return ValueTask.FromResult(ok ? Grade.Pass() : Grade.Fail($"got {value.ToString(CultureInfo.InvariantCulture)}, expected {_expected.ToString(CultureInfo.InvariantCulture)} ± {allowed.ToString(CultureInfo.InvariantCulture)}"));
    }

    [GeneratedRegex(@"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")]
    private static partial Regex Number();
}
