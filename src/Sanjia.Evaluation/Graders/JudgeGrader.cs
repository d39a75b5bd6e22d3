using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Graders;

/// <summary>
/// <c>judge</c>: a model (<c>model</c>, any the gateway serves) grades the answer against a <c>rubric</c> on a 0–10
/// scale; score = grade / 10, passes at <c>pass_score</c> (default 7). The judge sees the conversation, the expected
/// answer when the case has one, the rubric and the answer, and must reply with <c>{"score": N, "reason": "..."}</c>.
/// The judge's own cost is not charged to the model being judged.
/// </summary>
public sealed partial class JudgeGrader : IGrader, ICallsModels
{
    private readonly string _model;
    private readonly string _rubric;
    private readonly double _passScore;

    public IEnumerable<string> Models => [_model];

    public JudgeGrader(GraderSettings s)
    {
        _model = s.RequiredString("model");
        _rubric = s.RequiredString("rubric");
        _passScore = s.Number("pass_score") ?? 7;
        if (_passScore is < 0 or > 10) throw s.Error("pass_score", "must be between 0 and 10.");
        s.RejectUnknown();
    }

    public async ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        var request = new ModelRequest(_model, Prompt(context.Case, context.Output, _rubric),
            new JsonObject { ["temperature"] = 0, ["max_tokens"] = 300 });
        var call = await context.Runner.ChatAsync(request, cancellationToken).ConfigureAwait(false);
        if (call.Failed) return Grade.Broken($"judge '{_model}' failed: {call.Error}");
        if (ParseScore(call.Text) is not { } score) return Grade.Broken($"judge '{_model}' gave no score");
        var reason = ReasonField().Match(call.Text) is { Success: true } m ? m.Groups[1].Value : null;
        return new Grade(score / 10, score >= _passScore, $"judge {score.ToString("0.#", CultureInfo.InvariantCulture)}/10" + (reason is null ? "" : ": " + reason));
    }

    internal static IReadOnlyList<EvalMessage> Prompt(EvalCase c, string answer, string rubric)
    {
        var user = new StringBuilder();
        user.AppendLine("Conversation given to the assistant:");
        foreach (var m in c.Messages) user.Append('[').Append(m.Role).Append("] ").AppendLine(m.Content);
        if (c.ExpectedText is { } expected) user.AppendLine().AppendLine("Reference answer:").AppendLine(expected);
        user.AppendLine().AppendLine("Rubric:").AppendLine(rubric);
        user.AppendLine().AppendLine("Assistant's answer:").AppendLine(answer);
        user.AppendLine().Append("""Grade the answer against the rubric from 0 (worst) to 10 (best). Reply with JSON only: {"score": <0-10>, "reason": "<one sentence>"}""");
        return
        [
            new EvalMessage("system", "You are a strict, fair grader. Judge only what the rubric asks."),
            new EvalMessage("user", user.ToString()),
        ];
    }

    /// <summary>The first <c>"score": N</c>, else a bare number or <c>N/10</c> when that is all there is; null if none in 0–10.</summary>
    internal static double? ParseScore(string text)
    {
        var m = ScoreField().Match(text);
        if (!m.Success) m = Bare().Match(text.Trim());
        if (!m.Success) return null;
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return value is >= 0 and <= 10 ? value : null;
    }

    [GeneratedRegex("\"?score\"?\\s*[:=]\\s*([0-9]+(?:\\.[0-9]+)?)", RegexOptions.IgnoreCase)]
    private static partial Regex ScoreField();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(?:\s*/\s*10)?\.?$")]
    private static partial Regex Bare();

    [GeneratedRegex("\"reason\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex ReasonField();
}
