using System.Text;
using System.Text.Json;
using Sanjia.Core.Guardrails;
using Xunit.Abstractions;

namespace Sanjia.Core.Tests.Guardrails;

/// <summary>
/// Precision and recall of every detector on the labelled corpus (corpus/README.md), with 95 % Wilson intervals,
/// printed; the targets are asserted on the point estimates: precision at least 0.98 and recall at least 0.95 for
/// structured PII and secrets. A positive counts only when the detector reports exactly the labelled value's span;
/// any other span it reports, on a positive or a negative, is a false positive.
/// </summary>
public sealed class GuardrailCorpusTests(ITestOutputHelper output)
{
    internal sealed record Item(string Id, string Detector, string Lang, int Label, string Text, string? Value);

    internal static List<Item> Load()
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

    internal sealed record Score(string RuleId, int Positives, int Negatives, int Tp, int Fp, int Fn, List<string> Misses)
    {
        public double Precision => Tp + Fp == 0 ? 1 : (double)Tp / (Tp + Fp);
        public double Recall => Tp + Fn == 0 ? 1 : (double)Tp / (Tp + Fn);
    }

    internal static Score Evaluate(string ruleId, IEnumerable<Item> items)
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
    internal static (double Low, double High) Wilson(int k, int n)
    {
        if (n == 0) return (0, 1);
        const double z = 1.96;
        double p = (double)k / n, z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    internal static string Table(IEnumerable<Score> scores)
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

    [Fact]
    public void Corpus_has_at_least_fifty_positives_and_fifty_hard_negatives_per_structured_detector_in_both_languages()
    {
        var items = Load();
        foreach (var rule in Structured)
        {
            var mine = items.Where(i => i.Detector == rule).ToList();
            Assert.True(mine.Count(i => i.Label == 1) >= 50, rule);
            Assert.True(mine.Count(i => i.Label == 0) >= 50, rule);
            Assert.Contains(mine, i => i.Lang == "zh");
            Assert.Contains(mine, i => i.Lang == "en");
        }
    }

    [Fact]
    public void Structured_detectors_meet_the_precision_and_recall_targets_on_the_corpus()
    {
        var items = Load();
        var scores = Structured.Select(r => Evaluate(r, items)).ToList();
        output.WriteLine(Table(scores));
        foreach (var s in scores)
        {
            foreach (var miss in s.Misses) output.WriteLine(miss);
        }
        foreach (var s in scores)
        {
            Assert.True(s.Precision >= 0.98, FormattableString.Invariant($"{s.RuleId}: precision {s.Precision:0.000} < 0.98"));
            Assert.True(s.Recall >= 0.95, FormattableString.Invariant($"{s.RuleId}: recall {s.Recall:0.000} < 0.95"));
        }
    }

    [Fact]
    public void Injection_heuristics_are_reported_in_both_languages()
    {
        var items = Load();
        var all = Evaluate(RuleIds.Injection, items);
        var en = Evaluate(RuleIds.Injection, items.Where(i => i.Lang == "en"));
        var zh = Evaluate(RuleIds.Injection, items.Where(i => i.Lang == "zh"));
        output.WriteLine(Table([all, en with { RuleId = "injection.heuristic (en)" }, zh with { RuleId = "injection.heuristic (zh)" }]));
        foreach (var miss in all.Misses) output.WriteLine(miss);
        // The chosen trade-off is precision first (docs/guardrails.md): the figures are reported, and the floor only
        // guards against a regression that would make the rule useless either way.
        Assert.True(all.Precision >= 0.9 && all.Recall >= 0.8, $"precision {all.Precision}, recall {all.Recall}");
    }
}
