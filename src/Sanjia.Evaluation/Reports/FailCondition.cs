using System.Globalization;
using System.Text.RegularExpressions;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// A CI gate on a report, e.g. <c>quality(candidate) &lt; 90</c>: <c>metric(model) op number</c>. Metrics:
/// <c>quality</c> (0–100), <c>quality_low</c> (the interval's lower bound), <c>errors</c> (per case, in %),
/// <c>cost</c> (per 1,000 requests), <c>p50</c> / <c>p95</c> (latency, ms). Model: a model of the run, <c>baseline</c>,
/// or <c>candidate</c> (every other model: the condition holds when it holds for any of them). Operators: &lt; &lt;= &gt; &gt;= == !=.
/// </summary>
public sealed partial record FailCondition(string Text, string Metric, string Model, string Operator, double Value)
{
    private static readonly string[] Metrics = ["quality", "quality_low", "errors", "cost", "p50", "p95"];

    /// <exception cref="FormatException">The text is not a condition; the message says what is allowed.</exception>
    public static FailCondition Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var m = Syntax().Match(text);
        if (!m.Success || !double.TryParse(m.Groups[4].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"'{text}' is not a condition like \"quality(candidate) < 90\" (metric(model) op number).");
        }
        var metric = m.Groups[1].Value.ToLowerInvariant();
        if (!Metrics.Contains(metric)) throw new FormatException($"'{text}': unknown metric '{metric}' (known: {string.Join(", ", Metrics)}).");
        return new FailCondition(text, metric, m.Groups[2].Value.Trim(), m.Groups[3].Value, value);
    }

    /// <summary>The models the condition names that the run does not have ("baseline" and "candidate" always exist).</summary>
    public bool NamesAModelOf(IReadOnlyList<string> models) => Model is "baseline" or "candidate" || models.Contains(Model, StringComparer.Ordinal);

    /// <summary>Sentences for each model the condition holds for (empty when it holds for none).</summary>
    public IReadOnlyList<string> Check(ComparisonReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var models = Model switch
        {
            "baseline" => report.Models.Where(m => m.Model == report.Baseline),
            "candidate" => report.Models.Where(m => m.Model != report.Baseline),
            _ => report.Models.Where(m => m.Model == Model),
        };
        var hits = new List<string>();
        foreach (var m in models)
        {
            double? actual = Metric switch
            {
                "quality" => m.Quality,
                "quality_low" => m.QualityInterval.Low,
                "errors" => m.ErrorRate * 100,
                "cost" => m.CostPer1000Requests is { } c ? (double)c : null,
                "p50" => m.LatencyP50Ms,
                _ => m.LatencyP95Ms,
            };
            // An unknown value (unpriced, no successful call) cannot pass a gate: it counts as holding.
            var holds = actual is not { } a || double.IsNaN(a) || Operator switch
            {
                "<" => a < Value,
                "<=" => a <= Value,
                ">" => a > Value,
                ">=" => a >= Value,
                "==" => Math.Abs(a - Value) < 1e-9,
                _ => Math.Abs(a - Value) >= 1e-9,
            };
            if (holds)
            {
                hits.Add($"{Text}: {Metric}({m.Model}) is {(actual is { } v && !double.IsNaN(v) ? v.ToString("0.###", CultureInfo.InvariantCulture) : "unknown")}");
            }
        }
        return hits;
    }

    [GeneratedRegex(@"^\s*([A-Za-z_]+)\s*\(\s*([^()]+?)\s*\)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")]
    private static partial Regex Syntax();
}
