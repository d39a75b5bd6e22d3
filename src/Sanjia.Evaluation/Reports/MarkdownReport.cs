using System.Text;

namespace Sanjia.Evaluation.Reports;

/// <summary>The report as GitHub-flavoured Markdown.</summary>
public static class MarkdownReport
{
    public static string Render(ComparisonReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var md = new StringBuilder();
        md.Append("# Comparison: ").AppendLine(Escape(r.Suite)).AppendLine();
        md.Append("Run `").Append(r.RunId).Append("`, ").Append(r.Cases).Append(" cases")
          .Append(r.Samples > 1 ? $" × {r.Samples} samples" : "")
          .Append(", baseline **").Append(Escape(r.Baseline)).Append("**, non-inferiority margin ").Append(ReportBuilder.Points(r.Margin))
          .Append(" points, bootstrap seed ").Append(r.Seed).AppendLine(".");
        if (r.MissingCells > 0) md.AppendLine().Append("> **Incomplete run:** ").Append(r.MissingCells).AppendLine(" cells have no result yet; resume with the same run id.");
        foreach (var w in r.Warnings) md.AppendLine().Append("> **ERROR:** ").AppendLine(Escape(w));
        md.AppendLine().Append("**Recommendation.** ").AppendLine(Escape(r.Recommendation.Text)).AppendLine();
        md.AppendLine("| Model | Quality | 95 % CI | Cost | Per 1,000 requests | Latency p50 / p95 | TTFT p50 / p95 | Errors | Pareto |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|:---:|");
        foreach (var m in r.Models)
        {
            md.Append("| ").Append(Escape(m.Model)).Append(m.Model == r.Baseline ? " (baseline)" : "").Append(m.Problem is null ? "" : " ⚠ not measured")
              .Append(" | ").Append(Format.Quality(m))
              .Append(" | ").Append(Format.Interval(m.QualityInterval))
              .Append(" | ").Append(Format.Cost(m))
              .Append(" | ").Append(Format.Money(m.CostPer1000Requests, m.Currency))
              .Append(" | ").Append(Format.Ms(m.LatencyP50Ms)).Append(" / ").Append(Format.Ms(m.LatencyP95Ms))
              .Append(" | ").Append(Format.Ms(m.TtftP50Ms)).Append(" / ").Append(Format.Ms(m.TtftP95Ms))
              .Append(" | ").Append(Format.Errors(m))
              .Append(" | ").Append(m.OnParetoFront ? "★" : "")
              .AppendLine(" |");
        }
        md.AppendLine().AppendLine("## Pass rate per grader").AppendLine();
        var graders = r.Models.SelectMany(m => m.PassRateByGrader.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var withK = r.Models.Any(m => m.PassAtK.Count > 0);
        md.Append("| Model | ").AppendJoin(" | ", graders.Select(Escape)).AppendLine(withK ? " | pass@k |" : " |");
        md.Append("|---|").AppendJoin("", graders.Select(_ => "---:|")).AppendLine(withK ? "---:|" : "");
        foreach (var m in r.Models)
        {
            md.Append("| ").Append(Escape(m.Model)).Append(" | ")
              .AppendJoin(" | ", graders.Select(g => Format.PassRate(m, g))).AppendLine(withK ? $" | {Format.PassAtK(m)}" + (m.SampleStdDev is { } sd ? $", within-case SD {sd:0.0}" : "") + " |" : " |");
        }
        if (r.Comparisons.Count > 0)
        {
            md.AppendLine().Append("## Against ").AppendLine(Escape(r.Baseline)).AppendLine();
            md.AppendLine("| Candidate | Quality Δ (95 % CI) | p (Holm) | Cost Δ | Cases needed | Verdict |");
            md.AppendLine("|---|---:|---:|---:|---:|---|");
            foreach (var c in r.Comparisons)
            {
                md.Append("| ").Append(Escape(c.Candidate)).Append(" | ").Append(Format.Difference(c)).Append(" | ").Append(Format.PValue(c.AdjustedPValue))
                  .Append(" | ").Append(Format.CostChange(c)).Append(" | ").Append(Format.Needed(c)).Append(" | ").Append(Escape(c.Summary)).AppendLine(" |");
            }
        }
        md.AppendLine().AppendLine(Format.Method(r));
        return md.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
