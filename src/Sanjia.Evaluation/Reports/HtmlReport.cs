using System.Net;
using System.Text;

namespace Sanjia.Evaluation.Reports;

/// <summary>A single self-contained HTML page (inline CSS and SVG, no scripts or external files).</summary>
public static class HtmlReport
{
    public static string Render(ComparisonReport r)
    {
        static string H(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.Append($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Comparison: {H(r.Suite)}</title>
            <style>
            body{"{"}font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222{"}"}
            table{"{"}border-collapse:collapse;margin:1rem 0{"}"} th,td{"{"}border:1px solid #ddd;padding:.35rem .6rem;text-align:right{"}"}
            th:first-child,td:first-child{"{"}text-align:left{"}"} .rec{"{"}background:#eef8f1;border-left:4px solid #2a7;padding:.8rem 1rem{"}"}
            .warn{"{"}background:#fff4e5;border-left:4px solid #e90;padding:.6rem 1rem{"}"} .note{"{"}color:#666;font-size:.9em{"}"}
            </style></head><body>
            <h1>Comparison: {H(r.Suite)}</h1>
            <p>Run <code>{H(r.RunId)}</code> · {r.Cases} cases · baseline <strong>{H(r.Baseline)}</strong> · bootstrap seed {r.Seed} · {H(r.GeneratedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture))}</p>

            """);
        if (r.MissingCells > 0) html.Append($"<p class=\"warn\">Incomplete run: {r.MissingCells} cells have no result yet; resume with the same run id.</p>\n");
        html.Append($"<p class=\"rec\" id=\"recommendation\"><strong>Recommendation.</strong> {H(r.Recommendation.Text)}</p>\n");
        html.Append("<table id=\"models\"><tr><th>Model</th><th>Quality</th><th>95 % CI</th><th>Cost</th><th>Per 1,000 requests</th><th>Latency p50 / p95</th><th>TTFT p50 / p95</th><th>Errors</th><th>Pareto</th></tr>\n");
        foreach (var m in r.Models)
        {
            html.Append($"<tr><td>{H(m.Model)}{(m.Model == r.Baseline ? " (baseline)" : "")}</td><td>{Format.Quality(m)}</td><td>{Format.Interval(m.QualityInterval)}</td><td>{H(Format.Cost(m))}</td><td>{H(Format.Money(m.CostPer1000Requests, m.Currency))}</td><td>{Format.Ms(m.LatencyP50Ms)} / {Format.Ms(m.LatencyP95Ms)}</td><td>{Format.Ms(m.TtftP50Ms)} / {Format.Ms(m.TtftP95Ms)}</td><td>{Format.Percent(m.ErrorRate)}</td><td>{(m.OnParetoFront ? "★" : "")}</td></tr>\n");
        }
        html.Append("</table>\n<h2>Cost versus quality</h2>\n").Append(SvgChart.Render(r)).Append('\n');
        html.Append("<h2>Pass rate per grader</h2>\n<table id=\"graders\"><tr><th>Model</th>");
        var graders = r.Models.SelectMany(m => m.PassRateByGrader.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var g in graders) html.Append($"<th>{H(g)}</th>");
        html.Append("</tr>\n");
        foreach (var m in r.Models)
        {
            html.Append($"<tr><td>{H(m.Model)}</td>");
            foreach (var g in graders) html.Append($"<td>{(m.PassRateByGrader.TryGetValue(g, out var v) ? Format.Percent(v) : "–")}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</table>\n");
        if (r.Comparisons.Count > 0)
        {
            html.Append($"<h2>Against {H(r.Baseline)}</h2>\n<table id=\"comparisons\"><tr><th>Candidate</th><th>Quality Δ (95 % CI)</th><th>p</th><th>Cost Δ</th><th>Verdict</th></tr>\n");
            foreach (var c in r.Comparisons)
            {
                html.Append($"<tr><td>{H(c.Candidate)}</td><td>{H(Format.Difference(c))}</td><td>{H(Format.PValue(c.PValue))}</td><td>{H(Format.CostChange(c))}</td><td style=\"text-align:left\">{H(c.Summary)}</td></tr>\n");
            }
            html.Append("</table>\n");
        }
        html.Append("<p class=\"note\">Quality is the mean case score on a 0–100 scale (failed calls score 0). Pareto ★: no other model is both cheaper and better. Significance: two-sided sign-flip permutation test on per-case differences, p &lt; 0.05 and a bootstrap interval excluding 0.</p>\n</body></html>\n");
        return html.ToString();
    }
}
