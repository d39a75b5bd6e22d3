using System.Globalization;
using System.Net;
using System.Text;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// Cost per 1,000 requests (x, linear or logarithmic) against quality (y, with its 95 % interval as a bar);
/// Pareto-front models are filled and joined by a line. Unpriced and not-measured models cannot be placed and are
/// listed under the chart instead. Labels that would leave the plot are drawn on the point's other side.
/// </summary>
public static class SvgChart
{
    private const int Width = 720, Height = 440, Left = 70, Right = 30, Top = 30, Bottom = 60;

    /// <summary>Width of a label character at font-size 12, a generous estimate (no font metrics without a browser).</summary>
    private const double CharWidth = 7;

    public static string Render(ComparisonReport r, bool logCost = false)
    {
        ArgumentNullException.ThrowIfNull(r);
        var inv = CultureInfo.InvariantCulture;
        var placed = r.Models.Where(m => m.CostPer1000Requests is not null && !double.IsNaN(m.Quality) && m.Problem is null).ToList();
        var costs = placed.Select(m => (double)m.CostPer1000Requests!.Value).ToList();
        var maxCost = costs.Count == 0 ? 1 : Math.Max(costs.Max(), 1e-9) * 1.1;
        var positive = costs.Where(c => c > 0).ToList();
        // Log axis: from a little below the cheapest priced (non-zero) model to a little above the dearest; free models sit on the left edge.
        var logLo = positive.Count == 0 ? -3 : Math.Log10(positive.Min()) - 0.3;
        var logHi = positive.Count == 0 ? 0 : Math.Log10(positive.Max()) + 0.15;
        if (logHi - logLo < 1) logLo = logHi - 1;
        double X(double cost) => logCost
            ? cost <= 0 ? Left : Left + (Math.Log10(cost) - logLo) / (logHi - logLo) * (Width - Left - Right)
            : Left + cost / maxCost * (Width - Left - Right);
        double Y(double quality) => Top + (100 - Math.Clamp(quality, 0, 100)) / 100 * (Height - Top - Bottom);
        string N(double v) => v.ToString("0.#", inv);
        var currency = placed.Select(m => m.Currency).FirstOrDefault(c => c is not null) ?? "";

        var svg = new StringBuilder();
        svg.Append($"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {Width} {Height}" width="{Width}" height="{Height}" font-family="sans-serif" font-size="12" role="img" aria-label="Cost versus quality" class="{(logCost ? "log" : "linear")}">""");
        svg.Append($"""<rect x="0" y="0" width="{Width}" height="{Height}" fill="white"/>""");
        // Axes and grid.
        for (var q = 0; q <= 100; q += 20)
        {
            svg.Append($"""<line x1="{Left}" y1="{N(Y(q))}" x2="{Width - Right}" y2="{N(Y(q))}" stroke="#e5e5e5"/><text x="{Left - 8}" y="{N(Y(q) + 4)}" text-anchor="end">{q}</text>""");
        }
        if (logCost)
        {
            for (var e = (int)Math.Ceiling(logLo); e <= Math.Floor(logHi); e++)
            {
                svg.Append($"""<text x="{N(X(Math.Pow(10, e)))}" y="{Height - Bottom + 18}" text-anchor="middle">{Math.Pow(10, e).ToString("0.######", inv)}</text>""");
            }
        }
        else
        {
            for (var i = 0; i <= 4; i++)
            {
                var cost = maxCost * i / 4;
                svg.Append($"""<text x="{N(X(cost))}" y="{Height - Bottom + 18}" text-anchor="middle">{cost.ToString("0.###", inv)}</text>""");
            }
        }
        svg.Append($"""<line x1="{Left}" y1="{Height - Bottom}" x2="{Width - Right}" y2="{Height - Bottom}" stroke="#333"/><line x1="{Left}" y1="{Top}" x2="{Left}" y2="{Height - Bottom}" stroke="#333"/>""");
        svg.Append($"""<text x="{(Left + Width - Right) / 2}" y="{Height - 15}" text-anchor="middle">Cost per 1,000 requests {WebUtility.HtmlEncode(currency)}{(logCost ? " (log scale; free models on the left edge)" : "")}</text>""");
        svg.Append($"""<text transform="translate(18 {(Top + Height - Bottom) / 2}) rotate(-90)" text-anchor="middle">Quality (0–100)</text>""");

        var front = placed.Where(m => m.OnParetoFront).OrderBy(m => m.CostPer1000Requests).ToList();
        if (front.Count > 1)
        {
            var points = string.Join(" ", front.Select(m => $"{N(X((double)m.CostPer1000Requests!.Value))},{N(Y(m.Quality))}"));
            svg.Append($"""<polyline class="pareto-front" points="{points}" fill="none" stroke="#2a7" stroke-width="2" stroke-dasharray="6 4"/>""");
        }
        foreach (var m in placed)
        {
            var x = X((double)m.CostPer1000Requests!.Value);
            var y = Y(m.Quality);
            var name = WebUtility.HtmlEncode(m.Model);
            if (!double.IsNaN(m.QualityInterval.Low))
            {
                svg.Append($"""<line x1="{N(x)}" y1="{N(Y(m.QualityInterval.Low))}" x2="{N(x)}" y2="{N(Y(m.QualityInterval.High))}" stroke="#888"/>""");
            }
            var fill = m.OnParetoFront ? "#2a7" : "white";
            svg.Append($"""<circle class="{(m.OnParetoFront ? "model pareto" : "model")}" data-model="{name}" cx="{N(x)}" cy="{N(y)}" r="6" fill="{fill}" stroke="#2a7" stroke-width="2"><title>{name}: quality {Format.Quality(m)}, {WebUtility.HtmlEncode(Format.Money(m.CostPer1000Requests, m.Currency))} per 1,000 requests</title></circle>""");
            var label = m.Model + (m.Model == r.Baseline ? " (baseline)" : "");
            var (lx, anchor) = LabelX(x, label.Length * CharWidth);
            // Below the point when a label above it would leave the plot at the top.
            var ly = y - 8 < Top - 10 ? y + 18 : y - 8;
            svg.Append($"""<text class="label" x="{N(lx)}" y="{N(ly)}" text-anchor="{anchor}">{WebUtility.HtmlEncode(label)}</text>""");
        }
        var unplaced = r.Models.Except(placed).Select(m => m.Model + (m.Problem is null ? "" : " (not measured)")).ToList();
        if (unplaced.Count > 0)
        {
            svg.Append($"""<text x="{Left}" y="{Height - 2}" fill="#a33">Not shown (no cost from the gateway, or not measured): {WebUtility.HtmlEncode(string.Join(", ", unplaced))}</text>""");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>Right of the point when the label fits inside the chart, else left of it (end-anchored), else pinned to the edge.</summary>
    internal static (double X, string Anchor) LabelX(double pointX, double labelWidth)
    {
        if (pointX + 9 + labelWidth <= Width - 2) return (pointX + 9, "start");
        if (pointX - 9 - labelWidth >= 2) return (pointX - 9, "end");
        return (Width - 2, "end");
    }
}
