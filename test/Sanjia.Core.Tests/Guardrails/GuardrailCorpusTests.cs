using Sanjia.Core.Guardrails;
using Xunit.Abstractions;
using static Sanjia.Core.Tests.Guardrails.GuardrailCorpus;

namespace Sanjia.Core.Tests.Guardrails;

/// <summary>
/// Precision and recall of every detector on the labelled corpus (corpus/README.md), with 95 % Wilson intervals,
/// printed; the targets are asserted on the point estimates: precision at least 0.98 and recall at least 0.95 for
/// structured PII and secrets. A positive counts only when the detector reports exactly the labelled value's span;
/// any other span it reports, on a positive or a negative, is a false positive.
/// </summary>
public sealed class GuardrailCorpusTests(ITestOutputHelper output)
{
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
