using System.Text.Json.Nodes;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Running;

/// <summary>A model's list price per million tokens, as the gateway's price catalogue has it.</summary>
public sealed record ListPrice(string Currency, decimal InputPerMillion, decimal OutputPerMillion);

/// <summary>What a run is expected to cost per model, before any call: an upper bound on output, an estimate of input.</summary>
public sealed record CostEstimate(IReadOnlyList<ModelEstimate> Models, IReadOnlyList<string> Unpriced)
{
    /// <summary>Output tokens assumed per call when the suite sets no <c>max_tokens</c>.</summary>
    public const int DefaultOutputTokens = 512;

    /// <summary>Characters per token for the input estimate (English text with a BPE tokenizer is about 4).</summary>
    public const double CharsPerToken = 4;

    public decimal? Total => Models.Count == 0 || Models.Select(m => m.Currency).Distinct().Count() > 1 ? null : Models.Sum(m => m.Cost);

    public string? Currency => Models.Select(m => m.Currency).Distinct().Count() == 1 ? Models[0].Currency : null;

    /// <summary>
    /// Every case × sample sent to every model, plus the judge calls each graded answer makes (the judge sees the
    /// case and the answer, and answers in at most 300 tokens). Input: characters / 4 + 4 per message; output: the
    /// suite's <c>max_tokens</c> (or <c>max_completion_tokens</c>), else <see cref="DefaultOutputTokens"/>.
    /// </summary>
    public static CostEstimate For(EvalSuite suite, IReadOnlyList<string> models, int samples, IReadOnlyList<string> judgeModels, Func<string, ListPrice?> price)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(price);
        var output = MaxTokens(suite.RequestDefaults) ?? DefaultOutputTokens;
        var input = suite.Cases.Sum(c => c.Messages.Sum(m => (long)Math.Ceiling(m.Content.Length / CharsPerToken) + 4)) * (long)samples;
        var calls = (long)suite.Cases.Count * samples;
        var list = new List<ModelEstimate>();
        var unpriced = new List<string>();
        foreach (var model in models)
        {
            if (price(model) is not { } p)
            {
                unpriced.Add(model);
                continue;
            }
            list.Add(new ModelEstimate(model, calls, input, calls * output, Cost(p, input, calls * output), p.Currency));
        }
        foreach (var judge in judgeModels)
        {
            if (price(judge) is not { } p)
            {
                unpriced.Add(judge);
                continue;
            }
            // One judge call per graded answer of every model: the case, the answer (at most the output bound) and the rubric.
            var judgeCalls = calls * models.Count;
            var judgeInput = input * models.Count + judgeCalls * (output + 200);
            list.Add(new ModelEstimate(judge + " (judge)", judgeCalls, judgeInput, judgeCalls * 300, Cost(p, judgeInput, judgeCalls * 300), p.Currency));
        }
        return new CostEstimate(list, unpriced);
    }

    private static decimal Cost(ListPrice p, long input, long output) => (p.InputPerMillion * input + p.OutputPerMillion * output) / 1_000_000m;

    private static int? MaxTokens(JsonObject defaults) =>
        (defaults["max_tokens"] ?? defaults["max_completion_tokens"]) is JsonValue v && v.TryGetValue<int>(out var n) && n > 0 ? n : null;
}

/// <summary>One model's share of an estimate.</summary>
public sealed record ModelEstimate(string Model, long Calls, long InputTokens, long OutputTokens, decimal Cost, string Currency);
