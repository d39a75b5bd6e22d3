using System.Globalization;
using System.Net;
using System.Text;

namespace Sanjia.Evaluation.Reports;

/// <summary>
/// Cost per 1,000 requests (x) against quality (y, with its 95 % interval as a bar); Pareto-front models are filled
/// and joined by a line. Unpriced models cannot be placed and are listed under the chart instead.
/// </summary>
public static class SvgChart
{
    private const int Width = 720, Height = 440, Left = 70, Right = 30, Top = 30, Bottom = 60;

    public static string Render(ComparisonReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        var placed = r.Models.Where(m => m.CostPer1000Requests is not null && !double.IsNaN(m.Quality)).ToList();
        var maxCost = placed.Count == 0 ? 1 : Math.Max((double)placed.Max(m => m.CostPer1000Requests!.Value), 1e-9) * 1.1;
        double X(double cost) => Left + cost / maxCost * (Width - Left - Right);
        double Y(double quality) => Top + (100 - Math.Clamp(quality, 0, 100)) / 100 * (Height - Top - Bottom);
        string N(double v) => v.ToString("0.#", inv);
        var currency = placed.Select(m => m.Currency).FirstOrDefault(c => c is not null) ?? "";

        var svg = new StringBuilder();
        svg.Append($"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {Width} {Height}" width="{Width}" height="{Height}" font-family="sans-serif" font-size="12" role="img" aria-label="Cost versus quality">""");
        svg.Append($"""<rect x="0" y="0" width="{Width}" height="{Height}" fill="white"/>""");
        // Axes and grid.
        for (var q = 0; q <= 100; q += 20)
        {
            svg.Append($"""<line x1="{Left}" y1="{N(Y(q))}" x2="{Width - Right}" y2="{N(Y(q))}" stroke="#e5e5e5"/><text x="{Left - 8}" y="{N(Y(q) + 4)}" text-anchor="end">{q}</text>""");
        }
        for (var i = 0; i <= 4; i++)
        {
            var cost = maxCost * i / 4;
            svg.Append($"""<text x="{N(X(cost))}" y="{Height - Bottom + 18}" text-anchor="middle">{cost.ToString("0.###", inv)}</text>""");
        }
        svg.Append($"""<line x1="{Left}" y1="{Height - Bottom}" x2="{Width - Right}" y2="{Height - Bottom}" stroke="#333"/><line x1="{Left}" y1="{Top}" x2="{Left}" y2="{Height - Bottom}" stroke="#333"/>""");
        svg.Append($"""<text x="{(Left + Width - Right) / 2}" y="{Height - 15}" text-anchor="middle">Cost per 1,000 requests {WebUtility.HtmlEncode(currency)}</text>""");
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
            var name = WebUtility.HtmlEncode(m.Model);
            if (!double.IsNaN(m.QualityInterval.Low))
            {
                svg.Append($"""<line x1="{N(x)}" y1="{N(Y(m.QualityInterval.Low))}" x2="{N(x)}" y2="{N(Y(m.QualityInterval.High))}" stroke="#888"/>""");
            }
            var fill = m.OnParetoFront ? "#2a7" : "white";
            svg.Append($"""<circle class="{(m.OnParetoFront ? "model pareto" : "model")}" data-model="{name}" cx="{N(x)}" cy="{N(Y(m.Quality))}" r="6" fill="{fill}" stroke="#2a7" stroke-width="2"><title>{name}: quality {Format.Quality(m)}, {WebUtility.HtmlEncode(Format.Money(m.CostPer1000Requests, m.Currency))} per 1,000 requests</title></circle>""");
            svg.Append($"""<text x="{N(x + 9)}" y="{N(Y(m.Quality) - 8)}">{name}{(m.Model == r.Baseline ? " (baseline)" : "")}</text>""");
        }
        var unplaced = r.Models.Except(placed).Select(m => m.Model).ToList();
        if (unplaced.Count > 0)
        {
            svg.Append($"""<text x="{Left}" y="{Height - 2}" fill="#a33">Not shown (no cost from the gateway): {WebUtility.HtmlEncode(string.Join(", ", unplaced))}</text>""");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }
}
