using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Sanjia.Core.Guardrails;

/// <summary>Which strings of a request body are the prompt the policies check.</summary>
internal enum BodyShape
{
    /// <summary>OpenAI chat (every inbound chat protocol is in this form by now): <c>content</c>, <c>text</c> and <c>arguments</c> strings under <c>messages</c>.</summary>
    Chat,
    /// <summary>Embeddings: the <c>input</c> string or strings.</summary>
    Embeddings,
    /// <summary>A complete chat answer: the <c>content</c> strings under <c>choices</c> (output checks).</summary>
    Answer,
    /// <summary>Image generation (<c>/v1/images/generations</c>): the <c>prompt</c> string.</summary>
    Image,
}

/// <summary>What the policies found in one request: a block, the rules that matched, and the redacted body if any.</summary>
internal sealed class GuardrailFindings
{
    public string? BlockedRule { get; set; }
    public string? BlockedPolicy { get; set; }

    /// <summary>Each rule that matched with the action taken, once (for the log: rule ids only, never the text).</summary>
    public List<(string Rule, GuardrailAction Action, string Policy)> Matched { get; } = [];

    /// <summary>The body with placeholders in place of the redacted values, when something was redacted.</summary>
    public byte[]? RedactedBody { get; set; }

    /// <summary>How far the bytes after the original body's offset <c>i</c> moved: for re-locating <c>model</c>.</summary>
    public List<(int At, int Delta)>? Shifts { get; set; }

    /// <summary>
    /// The prompt strings as sent upstream (redacted), in order: always for embeddings and images (their requests
    /// carry them), for chat only when a policy has model checks (<see cref="GuardrailPolicy.ModelChecks"/>) to read.
    /// </summary>
    public List<string>? Inputs { get; set; }

    public Redactions? Redactions { get; set; }

    public int Shift(int offset)
    {
        if (Shifts is null || offset < 0) return offset;
        var moved = 0;
        foreach (var (at, delta) in Shifts)
        {
            if (at < offset) moved += delta;
        }
        return offset + moved;
    }

    public void Note(string rule, GuardrailAction action, string policy)
    {
        foreach (var m in Matched)
        {
            if (m.Rule == rule && m.Action == action && m.Policy == policy) return;
        }
        Matched.Add((rule, action, policy));
    }
}

/// <summary>
/// Runs policies over a request body: reads it once with <see cref="Utf8JsonReader"/>, unescapes each prompt string
/// into a pooled buffer, runs the detectors over it as a span, and, for redactions, splices a new JSON string in
/// place of the old one (everything else is copied byte for byte, so the pass-through adapters still forward the
/// caller's own JSON).
/// </summary>
internal static class GuardrailCheck
{
    /// <param name="collect">Keep the prompt strings in <see cref="GuardrailFindings.Inputs"/> (always for embeddings and images).</param>
    public static GuardrailFindings Run(ReadOnlySpan<byte> body, BodyShape shape, ReadOnlySpan<GuardrailPolicy> policies, bool collect = false)
    {
        var answer = shape == BodyShape.Answer;
        var findings = new GuardrailFindings();
        var found = new List<Detection>();
        var actions = new List<(GuardrailAction Action, string Policy)>();
        var buffer = ArrayPool<char>.Shared.Rent(1024);
        ArrayBufferWriter<byte>? output = null;
        var copied = 0;
        long total = 0;
        if (collect || shape is BodyShape.Embeddings or BodyShape.Image) findings.Inputs = [];
        try
        {
            var reader = new Utf8JsonReader(body);
            var inPrompt = false;
            var selectNext = false;
            var selectedArrayDepth = -1;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (reader.CurrentDepth == 1)
                        {
                            inPrompt = shape switch
                            {
                                BodyShape.Chat => reader.ValueTextEquals("messages"u8),
                                BodyShape.Embeddings => reader.ValueTextEquals("input"u8),
                                BodyShape.Image => reader.ValueTextEquals("prompt"u8),
                                _ => reader.ValueTextEquals("choices"u8),
                            };
                            selectNext = inPrompt && shape is BodyShape.Embeddings or BodyShape.Image;
                        }
                        else
                        {
                            selectNext = inPrompt && (reader.ValueTextEquals("content"u8)
                                || (!answer && (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("arguments"u8))));
                        }
                        continue;
                    case JsonTokenType.StartArray:
                        if (selectNext && shape != BodyShape.Image) selectedArrayDepth = reader.CurrentDepth;
                        selectNext = false;
                        continue;
                    case JsonTokenType.EndArray:
                        if (reader.CurrentDepth == selectedArrayDepth) selectedArrayDepth = -1;
                        continue;
                    case JsonTokenType.String:
                        var selected = selectNext || (selectedArrayDepth >= 0 && reader.CurrentDepth == selectedArrayDepth + 1);
                        selectNext = false;
                        if (!selected) continue;
                        break;
                    default:
                        selectNext = false;
                        continue;
                }

                // A prompt string: unescape it into the pooled buffer.
                var raw = reader.ValueSpan;
                var max = reader.ValueIsEscaped ? raw.Length : Encoding.UTF8.GetMaxCharCount(raw.Length);
                if (buffer.Length < max)
                {
                    ArrayPool<char>.Shared.Return(buffer);
                    buffer = ArrayPool<char>.Shared.Rent(max);
                }
                var length = reader.ValueIsEscaped ? reader.CopyString(buffer) : Encoding.UTF8.GetChars(raw, buffer);
                var text = buffer.AsSpan(0, length);
                total += length;

                foreach (var policy in policies)
                {
                    if (!answer && policy.MaxInputChars is { } limit && total > limit)
                    {
                        findings.BlockedRule = RuleIds.InputSize;
                        findings.BlockedPolicy = policy.Name;
                        findings.Note(RuleIds.InputSize, GuardrailAction.Block, policy.Name);
                        return findings;
                    }
                    foreach (var (detector, action) in answer ? policy.OutputRules : policy.Rules)
                    {
                        var before = found.Count;
                        detector.Scan(text, found);
                        for (var i = before; i < found.Count; i++) actions.Add((action, policy.Name));
                        if (found.Count > before) findings.Note(detector.RuleId, action, policy.Name);
                        if (found.Count > before && action == GuardrailAction.Block)
                        {
                            findings.BlockedRule = detector.RuleId;
                            findings.BlockedPolicy = policy.Name;
                            return findings;
                        }
                    }
                }

                string? replaced = null;
                if (found.Count > 0)
                {
                    replaced = Redact(text, found, actions, findings, mask: answer);
                    found.Clear();
                    actions.Clear();
                }
                if (replaced is not null)
                {
                    var tokenStart = (int)reader.TokenStartIndex;
                    var tokenLength = raw.Length + 2;
                    var quoted = Redactions.QuotedJson(replaced);
                    output ??= new ArrayBufferWriter<byte>(body.Length + 64);
                    output.Write(body[copied..tokenStart]);
                    output.Write(quoted);
                    copied = tokenStart + tokenLength;
                    (findings.Shifts ??= []).Add((tokenStart, quoted.Length - tokenLength));
                }
                findings.Inputs?.Add(replaced ?? text.ToString());
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
        if (output is not null)
        {
            output.Write(body[copied..]);
            findings.RedactedBody = output.WrittenSpan.ToArray();
        }
        return findings;
    }

    /// <summary>
    /// The text with its redact detections replaced by numbered placeholders, or by masks (<c>[EMAIL]</c>, never
    /// restored) when <paramref name="mask"/>; overlaps merged, the longest kept; null if nothing is to be replaced.
    /// </summary>
    internal static string? Redact(ReadOnlySpan<char> text, List<Detection> found, List<(GuardrailAction Action, string Policy)> actions, GuardrailFindings findings, bool mask)
    {
        List<Detection>? spans = null;
        for (var i = 0; i < found.Count; i++)
        {
            if (actions[i].Action == GuardrailAction.Redact) (spans ??= []).Add(found[i]);
        }
        if (spans is null) return null;
        spans.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Length.CompareTo(a.Length));
        var redactions = mask ? null : (findings.Redactions ??= new Redactions());
        var sb = new StringBuilder(text.Length + 16);
        var at = 0;
        foreach (var d in spans)
        {
            if (d.Start < at) continue; // inside a span already replaced (+86 138... is both pii.phone and pii.cn_mobile)
            sb.Append(text[at..d.Start]);
            sb.Append(redactions is null ? Redactions.Mask(d.RuleId) : redactions.PlaceholderFor(d.RuleId, text.Slice(d.Start, d.Length).ToString()));
            at = d.End;
        }
        sb.Append(text[at..]);
        return sb.ToString();
    }
}
