using System.Globalization;
using System.Net;
using System.Text;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// A single self-contained HTML page (inline CSS and SVG, no scripts or external files). The cost axis switches
/// between linear and log scale with two radio buttons and CSS; the case × model matrix keeps its header row in view
/// and folds each answer into a <c>details</c> element, so 300 cases × 4 models stay a readable page.
/// </summary>
public static class HtmlReport
{
    public static string Render(ComparisonReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var logCost = r.LogCostAxis;
        static string H(string s) => WebUtility.HtmlEncode(s);
        var inv = CultureInfo.InvariantCulture;
        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Comparison: {{H(r.Suite)}}</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
            table{border-collapse:collapse;margin:1rem 0} th,td{border:1px solid #ddd;padding:.35rem .6rem;text-align:right;vertical-align:top}
            th:first-child,td:first-child{text-align:left} .rec{background:#eef8f1;border-left:4px solid #2a7;padding:.8rem 1rem}
            .warn{background:#fff4e5;border-left:4px solid #e90;padding:.6rem 1rem} .error{background:#fdecec;border-left:4px solid #c33;padding:.6rem 1rem}
            .note{color:#666;font-size:.9em} td.err{color:#b00;font-weight:600}
            #scale-log:checked ~ .charts .linear{display:none} #scale-linear:checked ~ .charts .log{display:none}
            #matrix{font-size:.85em;width:100%} #matrix td{text-align:left;max-width:16rem;overflow-wrap:anywhere}
            #matrix thead th{position:sticky;top:0;background:#f6f6f6} #matrix td.pass{background:#f1faf4} #matrix td.fail{background:#fdf3f3}
            #matrix td.cell-error{background:#fde2e2} #matrix details summary{cursor:pointer} #matrix pre{white-space:pre-wrap;margin:.3rem 0}
            .reason{color:#555;display:block}
            </style></head><body>
            <h1>Comparison: {{H(r.Suite)}}</h1>
            <p>Run <code>{{H(r.RunId)}}</code> · {{r.Cases}} cases{{(r.Samples > 1 ? $" × {r.Samples} samples" : "")}} · baseline <strong>{{H(r.Baseline)}}</strong> · non-inferiority margin {{ReportBuilder.Points(r.Margin)}} points · bootstrap seed {{r.Seed}} · {{H(r.GeneratedAt.ToString("u", inv))}}</p>

            """);
        if (r.MissingCells > 0) html.Append($"<p class=\"warn\">Incomplete run: {r.MissingCells} cells have no result yet; resume with the same run id.</p>\n");
        foreach (var w in r.Warnings) html.Append($"<p class=\"error\"><strong>ERROR:</strong> {H(w)}</p>\n");
        html.Append($"<p class=\"{(r.Recommendation.Action == RecommendedAction.Inconclusive ? "warn" : "rec")}\" id=\"recommendation\"><strong>Recommendation.</strong> {H(r.Recommendation.Text)}</p>\n");
        html.Append("<table id=\"models\"><tr><th>Model</th><th>Quality</th><th>95 % CI</th><th>Cost</th><th>Per 1,000 requests</th><th>Latency p50 / p95</th><th>TTFT p50 / p95</th><th>Errors</th><th>Pareto</th></tr>\n");
        foreach (var m in r.Models)
        {
            html.Append($"<tr><td>{H(m.Model)}{(m.Model == r.Baseline ? " (baseline)" : "")}{(m.Problem is null ? "" : " <span class=\"err\">⚠ not measured</span>")}</td><td>{Format.Quality(m)}</td><td>{Format.Interval(m.QualityInterval)}</td><td>{H(Format.Cost(m))}</td><td>{H(Format.Money(m.CostPer1000Requests, m.Currency))}</td><td>{Format.Ms(m.LatencyP50Ms)} / {Format.Ms(m.LatencyP95Ms)}</td><td>{Format.Ms(m.TtftP50Ms)} / {Format.Ms(m.TtftP95Ms)}</td><td>{H(Format.Errors(m))}</td><td>{(m.OnParetoFront ? "★" : "")}</td></tr>\n");
        }
        html.Append("</table>\n<h2>Cost versus quality</h2>\n");
        html.Append($"<input type=\"radio\" name=\"scale\" id=\"scale-linear\"{(logCost ? "" : " checked")}><label for=\"scale-linear\">linear cost</label> ");
        html.Append($"<input type=\"radio\" name=\"scale\" id=\"scale-log\"{(logCost ? " checked" : "")}><label for=\"scale-log\">log cost</label>\n");
        html.Append("<div class=\"charts\">").Append(SvgChart.Render(r, logCost: false)).Append(SvgChart.Render(r, logCost: true)).Append("</div>\n");
        html.Append("<h2>Pass rate per grader</h2>\n<table id=\"graders\"><tr><th>Model</th>");
        var graders = r.Models.SelectMany(m => m.PassRateByGrader.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var g in graders) html.Append($"<th>{H(g)}</th>");
        var withK = r.Models.Any(m => m.PassAtK.Count > 0);
        if (withK) html.Append("<th>pass@k</th>");
        html.Append("</tr>\n");
        foreach (var m in r.Models)
        {
            html.Append($"<tr><td>{H(m.Model)}</td>");
            foreach (var g in graders) html.Append($"<td{(m.GraderFailures.ContainsKey(g) ? " class=\"err\"" : "")}>{H(Format.PassRate(m, g))}</td>");
            if (withK) html.Append($"<td>{H(Format.PassAtK(m))}{(m.SampleStdDev is { } sd ? H($", within-case SD {sd.ToString("0.0", inv)}") : "")}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</table>\n");
        if (r.Comparisons.Count > 0)
        {
            html.Append($"<h2>Against {H(r.Baseline)}</h2>\n<table id=\"comparisons\"><tr><th>Candidate</th><th>Quality Δ (95 % CI)</th><th>p (Holm)</th><th>Cost Δ</th><th>Cases needed</th><th>Verdict</th></tr>\n");
            foreach (var c in r.Comparisons)
            {
                html.Append($"<tr><td>{H(c.Candidate)}</td><td>{H(Format.Difference(c))}</td><td>{H(Format.PValue(c.AdjustedPValue))}</td><td>{H(Format.CostChange(c))}</td><td>{H(Format.Needed(c))}</td><td style=\"text-align:left\">{H(c.Summary)}</td></tr>\n");
            }
            html.Append("</table>\n");
        }
        AppendMatrix(html, r);
        html.Append($"<p class=\"note\">{H(Format.Method(r))}</p>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>Case × model: each cell shows the score and verdict, each grader's reason (or the error), and the answer folded.</summary>
    private static void AppendMatrix(StringBuilder html, ComparisonReport r)
    {
        static string H(string s) => WebUtility.HtmlEncode(s);
        if (r.CaseRows.Count == 0) return;
        var inv = CultureInfo.InvariantCulture;
        html.Append($"<h2>Cases</h2>\n<table id=\"matrix\"><thead><tr><th>Case</th>");
        foreach (var m in r.Models) html.Append($"<th>{H(m.Model)}</th>");
        html.Append("</tr></thead><tbody>\n");
        foreach (var row in r.CaseRows)
        {
            html.Append($"<tr id=\"case-{H(row.Id)}\"><td><strong>{H(row.Id)}</strong><details><summary>prompt</summary><pre>{H(row.Prompt)}</pre></details>");
            if (row.Expected is not null) html.Append($"<span class=\"reason\">expected: {H(row.Expected.Length > 200 ? row.Expected[..200] + "…" : row.Expected)}</span>");
            html.Append("</td>");
            foreach (var m in r.Models)
            {
                var cells = row.Cells.Where(c => c.Model == m.Model).ToList();
                if (cells.Count == 0)
                {
                    html.Append("<td>–</td>");
                    continue;
                }
                var css = cells.Any(c => c.Error is not null || c.Grades.Any(g => g.GraderFailed)) ? "cell-error" : cells.All(c => c.Passed) ? "pass" : "fail";
                html.Append($"<td class=\"{css}\">");
                foreach (var c in cells)
                {
                    if (cells.Count > 1) html.Append($"<em>#{c.Sample + 1}</em> ");
                    if (c.Error is not null)
                    {
                        html.Append($"<strong>ERROR</strong> <span class=\"reason\">{H(c.Error)}</span>");
                        continue;
                    }
                    html.Append($"<strong>{c.Score.ToString("0", inv)}</strong> {(c.Passed ? "pass" : "fail")}");
                    foreach (var g in c.Grades)
                    {
                        var verdict = g.GraderFailed ? "ERROR" : g.Passed ? "pass" : "fail";
                        html.Append($"<span class=\"reason\">{H(g.Grader)}: {verdict}{(g.Reason is null ? "" : " — " + H(g.Reason))}</span>");
                    }
                    var preview = c.Output.Length > 80 ? c.Output[..80] + "…" : c.Output;
                    html.Append($"<details><summary>{H(preview.ReplaceLineEndings(" "))}</summary><pre>{H(c.Output)}</pre></details>");
                }
                html.Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody></table>\n");
    }
}
