using System.Text;
using System.Text.Json;
using Sanjia.Core.Guardrails;

namespace Sanjia.Core.Tests.Guardrails;

/// <summary>
/// The labelled corpus (corpus/README.md) and its scoring: precision and recall per detector with 95 % Wilson
/// intervals. Used by <see cref="GuardrailCorpusTests"/> (which asserts the targets) and linked into
/// bench/Sanjia.Benchmarks (<c>dotnet run -c Release --project bench/Sanjia.Benchmarks -- corpus</c> prints the table).
/// </summary>
public static class GuardrailCorpus
{
    public sealed record Item(string Id, string Detector, string Lang, int Label, string Text, string? Value);

    public static List<Item> Load()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Guardrails", "corpus");
        var items = new List<Item>();
        foreach (var file in new[] { "generated.jsonl", "hand.jsonl" })
        {
            foreach (var line in File.ReadLines(Path.Combine(dir, file)))
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                items.Add(new(r.GetProperty("id").GetString()!, r.GetProperty("detector").GetString()!, r.GetProperty("lang").GetString()!,
                    r.GetProperty("label").GetInt32(), r.GetProperty("text").GetString()!, r.TryGetProperty("value", out var v) ? v.GetString() : null));
            }
        }
        return items;
    }

    public sealed record Score(string RuleId, int Positives, int Negatives, int Tp, int Fp, int Fn, List<string> Misses)
    {
        public double Precision => Tp + Fp == 0 ? 1 : (double)Tp / (Tp + Fp);
        public double Recall => Tp + Fn == 0 ? 1 : (double)Tp / (Tp + Fn);
    }

    public static Score Evaluate(string ruleId, IEnumerable<Item> items)
    {
        var detector = BuiltInDetectors.ByRuleId[ruleId];
        int pos = 0, neg = 0, tp = 0, fp = 0, fn = 0;
        var misses = new List<string>();
        var found = new List<Detection>();
        foreach (var item in items.Where(i => i.Detector == ruleId))
        {
            found.Clear();
            detector.Scan(item.Text, found);
            if (item.Label == 1)
            {
                pos++;
                var start = ruleId == RuleIds.Injection ? -1 : item.Text.IndexOf(item.Value!, StringComparison.Ordinal);
                var hit = ruleId == RuleIds.Injection ? found.Count > 0 : found.Any(d => d.Start == start && d.Length == item.Value!.Length);
                if (hit) tp++; else { fn++; misses.Add($"FN {item.Id}: {item.Text}"); }
                var extra = ruleId == RuleIds.Injection ? 0 : found.Count(d => !(d.Start == start && d.Length == item.Value!.Length));
                fp += extra;
                if (extra > 0) misses.Add($"FP {item.Id}: {item.Text}");
            }
            else
            {
                neg++;
                if (found.Count > 0) { fp++; misses.Add($"FP {item.Id}: {item.Text}"); }
            }
        }
        return new(ruleId, pos, neg, tp, fp, fn, misses);
    }

    /// <summary>The Wilson score interval at 95 % (z = 1.96) for k successes in n trials.</summary>
    public static (double Low, double High) Wilson(int k, int n)
    {
        if (n == 0) return (0, 1);
        const double z = 1.96;
        double p = (double)k / n, z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    public static string Table(IEnumerable<Score> scores)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| rule id | positives | negatives | precision (95 % CI) | recall (95 % CI) |");
        sb.AppendLine("| --- | ---: | ---: | --- | --- |");
        foreach (var s in scores)
        {
            var (pl, ph) = Wilson(s.Tp, s.Tp + s.Fp);
            var (rl, rh) = Wilson(s.Tp, s.Tp + s.Fn);
            sb.AppendLine(FormattableString.Invariant($"| `{s.RuleId}` | {s.Positives} | {s.Negatives} | {s.Precision:0.000} ({pl:0.000}-{ph:0.000}) | {s.Recall:0.000} ({rl:0.000}-{rh:0.000}) |"));
        }
        return sb.ToString();
    }

    public static readonly string[] Structured =
    [
        RuleIds.Email, RuleIds.Phone, RuleIds.CnMobile, RuleIds.CnResidentId, RuleIds.BankCard, RuleIds.Iban, RuleIds.Ip,
        RuleIds.OpenAiKey, RuleIds.AwsAccessKey, RuleIds.GitHubToken, RuleIds.Jwt, RuleIds.PrivateKey,
    ];
}
