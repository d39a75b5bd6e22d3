using System.Text;

namespace Sanjia.Evaluation.Reports;

/// <summary>The report as GitHub-flavoured Markdown.</summary>
public static class MarkdownReport
{
    public static string Render(ComparisonReport r)
    {
        var md = new StringBuilder();
        md.Append("# Comparison: ").AppendLine(Escape(r.Suite)).AppendLine();
        md.Append("Run `").Append(r.RunId).Append("`, ").Append(r.Cases).Append(" cases, baseline **").Append(Escape(r.Baseline)).Append("**, bootstrap seed ").Append(r.Seed).AppendLine(".");
        if (r.MissingCells > 0) md.AppendLine().Append("> **Incomplete run:** ").Append(r.MissingCells).AppendLine(" cells have no result yet; resume with the same run id.");
        md.AppendLine().Append("**Recommendation.** ").AppendLine(Escape(r.Recommendation.Text)).AppendLine();
        md.AppendLine("| Model | Quality | 95 % CI | Cost | Per 1,000 requests | Latency p50 / p95 | TTFT p50 / p95 | Errors | Pareto |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|:---:|");
        foreach (var m in r.Models)
        {
            md.Append("| ").Append(Escape(m.Model)).Append(m.Model == r.Baseline ? " (baseline)" : "")
              .Append(" | ").Append(Format.Quality(m))
              .Append(" | ").Append(Format.Interval(m.QualityInterval))
              .Append(" | ").Append(Format.Cost(m))
              .Append(" | ").Append(Format.Money(m.CostPer1000Requests, m.Currency))
              .Append(" | ").Append(Format.Ms(m.LatencyP50Ms)).Append(" / ").Append(Format.Ms(m.LatencyP95Ms))
              .Append(" | ").Append(Format.Ms(m.TtftP50Ms)).Append(" / ").Append(Format.Ms(m.TtftP95Ms))
              .Append(" | ").Append(Format.Percent(m.ErrorRate))
              .Append(" | ").Append(m.OnParetoFront ? "★" : "")
              .AppendLine(" |");
        }
        md.AppendLine().AppendLine("## Pass rate per grader").AppendLine();
        var graders = r.Models.SelectMany(m => m.PassRateByGrader.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        md.Append("| Model | ").AppendJoin(" | ", graders.Select(Escape)).AppendLine(" |");
        md.Append("|---|").AppendJoin("", graders.Select(_ => "---:|")).AppendLine();
        foreach (var m in r.Models)
        {
            md.Append("| ").Append(Escape(m.Model)).Append(" | ")
              .AppendJoin(" | ", graders.Select(g => m.PassRateByGrader.TryGetValue(g, out var v) ? Format.Percent(v) : "–")).AppendLine(" |");
        }
        if (r.Comparisons.Count > 0)
        {
            md.AppendLine().Append("## Against ").AppendLine(Escape(r.Baseline)).AppendLine();
            md.AppendLine("| Candidate | Quality Δ (95 % CI) | p | Cost Δ | Verdict |");
            md.AppendLine("|---|---:|---:|---:|---|");
            foreach (var c in r.Comparisons)
            {
                md.Append("| ").Append(Escape(c.Candidate)).Append(" | ").Append(Format.Difference(c)).Append(" | ").Append(Format.PValue(c.PValue))
                  .Append(" | ").Append(Format.CostChange(c)).Append(" | ").Append(Escape(c.Summary)).AppendLine(" |");
            }
        }
        md.AppendLine().AppendLine("Quality is the mean case score on a 0–100 scale (failed calls score 0). Pareto ★: no other model is both cheaper and better. Significance: two-sided sign-flip permutation test on per-case differences, p < 0.05 and a bootstrap interval excluding 0.");
        return md.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
