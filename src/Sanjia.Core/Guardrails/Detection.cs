namespace Sanjia.Core.Guardrails;

/// <summary>
/// One finding: the rule that matched and where, as a span of the scanned text (no copy of the match is ever made,
/// so nothing downstream can log or echo it by accident).
/// </summary>
public readonly record struct Detection(string RuleId, int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>
/// A detector for one rule id. <see cref="Scan"/> appends what it finds to a list the caller reuses; built-in
/// detectors allocate nothing when nothing matches (source-generated regexes enumerated over the span, checksums on
/// the span), and only the phone parser allocates, per candidate that starts with '+'.
/// </summary>
public abstract class Detector
{
    public abstract string RuleId { get; }

    public abstract void Scan(ReadOnlySpan<char> text, List<Detection> found);
}

/// <summary>
/// A detector that is one source-generated pattern plus a check of each match on the span (a checksum, a date, a
/// placeholder test); the check is called only for matches, and nothing is allocated.
/// </summary>
internal abstract class RegexDetector(string ruleId, System.Text.RegularExpressions.Regex pattern) : Detector
{
    public override string RuleId => ruleId;

    /// <summary>Whether a match of the pattern is a real one.</summary>
    protected virtual bool Accept(ReadOnlySpan<char> match) => true;

    /// <summary>
    /// A vectorized pre-check that rules out most texts before the pattern runs (a literal the pattern needs, a run of
    /// digits long enough): a leading lookbehind keeps .NET's regex from searching for the pattern's first characters
    /// itself, and prompts rarely hold any value.
    /// </summary>
    protected virtual bool MayMatch(ReadOnlySpan<char> text) => true;

    /// <summary>
    /// For numbers: the fewest digits a value has in one run (single spaces or dashes between them allowed). When set,
    /// the pattern runs only over such runs, each with two characters of context on either side, found by a
    /// vectorized search for digits; prose between them is never read by the pattern.
    /// </summary>
    protected virtual int DigitRun => 0;

    /// <summary>
    /// For values that start with a literal (<c>sk-</c>, <c>AKIA</c>, <c>ghp_</c>): the literals. When set, one
    /// vectorized search finds each, and the pattern runs only over a window from the character before it to
    /// <see cref="WindowEnd"/>, keeping the matches that start at the literal: the rest of the text is never read by
    /// the pattern.
    /// </summary>
    protected virtual System.Buffers.SearchValues<string>? Anchors => null;

    /// <summary>
    /// With <see cref="Anchors"/>: where the window from an anchor at <paramref name="at"/> ends, one character past
    /// the longest value that can start there (the pattern's lookahead reads it).
    /// </summary>
    protected virtual int WindowEnd(ReadOnlySpan<char> text, int at) => text.Length;

    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        if (Anchors is { } anchors)
        {
            ScanAnchors(text, anchors, found);
            return;
        }
        if (!MayMatch(text)) return;
        if (DigitRun == 0)
        {
            Run(text, 0, found);
            return;
        }
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAnyInRange('0', '9');
            if (next < 0) return;
            var start = i += next;
            var count = 0;
            while (i < text.Length)
            {
                var c = text[i];
                if (char.IsAsciiDigit(c)) count++;
                else if (!(c is ' ' or '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))) break;
                i++;
            }
            if (count < DigitRun) continue;
            var from = Math.Max(0, start - 2);
            Run(text[from..Math.Min(text.Length, i + 2)], from, found);
        }
    }

    private void ScanAnchors(ReadOnlySpan<char> text, System.Buffers.SearchValues<string> anchors, List<Detection> found)
    {
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAny(anchors);
            if (next < 0) return;
            var at = i + next;
            var from = Math.Max(0, at - 1);
            var window = text[from..WindowEnd(text, at)];
            i = at + 1;
            foreach (var m in pattern.EnumerateMatches(window))
            {
                if (from + m.Index < at) continue;
                if (from + m.Index > at) break;
                if (Accept(window.Slice(m.Index, m.Length))) found.Add(new(RuleId, at, m.Length));
                // As over the whole text: the next match is looked for after this one, accepted or not.
                i = at + m.Length;
                break;
            }
        }
    }

    private void Run(ReadOnlySpan<char> text, int offset, List<Detection> found)
    {
        foreach (var m in pattern.EnumerateMatches(text))
        {
            if (Accept(text.Slice(m.Index, m.Length))) found.Add(new(RuleId, offset + m.Index, m.Length));
        }
    }
}

/// <summary>The built-in rule ids (docs/guardrails.md).</summary>
public static class RuleIds
{
    public const string Email = "pii.email";
    public const string Phone = "pii.phone";
    public const string CnMobile = "pii.cn_mobile";
    public const string CnResidentId = "pii.cn_resident_id";
    public const string BankCard = "pii.bank_card";
    public const string Iban = "pii.iban";
    public const string Ip = "pii.ip";
    public const string OpenAiKey = "secret.openai_key";
    public const string AwsAccessKey = "secret.aws_access_key";
    public const string GitHubToken = "secret.github_token";
    public const string Jwt = "secret.jwt";
    public const string PrivateKey = "secret.private_key";
    public const string Injection = "injection.heuristic";
    public const string DenyKeyword = "deny.keyword";
    public const string DenyRegex = "deny.regex";
    public const string InputSize = "limit.input_size";
}

/// <summary>The built-in detectors by rule id (the configurable ones, deny lists and size limits, are made per policy).</summary>
public static class BuiltInDetectors
{
    public static readonly Detector Email = new EmailDetector();
    public static readonly Detector Phone = new PhoneDetector();
    public static readonly Detector CnMobile = new CnMobileDetector();
    public static readonly Detector CnResidentId = new CnResidentIdDetector();
    public static readonly Detector BankCard = new BankCardDetector();
    public static readonly Detector Iban = new IbanDetector();
    public static readonly Detector Ip = new IpDetector();
    public static readonly Detector OpenAiKey = new OpenAiKeyDetector();
    public static readonly Detector AwsAccessKey = new AwsAccessKeyDetector();
    public static readonly Detector GitHubToken = new GitHubTokenDetector();
    public static readonly Detector Jwt = new JwtDetector();
    public static readonly Detector PrivateKey = new PrivateKeyDetector();
    public static readonly Detector Injection = new InjectionDetector();

    /// <summary>Every built-in detector, keyed by its rule id.</summary>
    public static readonly IReadOnlyDictionary<string, Detector> ByRuleId = new Dictionary<string, Detector>(StringComparer.Ordinal)
    {
        [RuleIds.Email] = Email,
        [RuleIds.Phone] = Phone,
        [RuleIds.CnMobile] = CnMobile,
        [RuleIds.CnResidentId] = CnResidentId,
        [RuleIds.BankCard] = BankCard,
        [RuleIds.Iban] = Iban,
        [RuleIds.Ip] = Ip,
        [RuleIds.OpenAiKey] = OpenAiKey,
        [RuleIds.AwsAccessKey] = AwsAccessKey,
        [RuleIds.GitHubToken] = GitHubToken,
        [RuleIds.Jwt] = Jwt,
        [RuleIds.PrivateKey] = PrivateKey,
        [RuleIds.Injection] = Injection,
    };

    /// <summary>The rule ids whose matches can be redacted to placeholders (structured values, not judgements).</summary>
    public static bool IsRedactable(string ruleId) =>
        ruleId.StartsWith("pii.", StringComparison.Ordinal) || ruleId.StartsWith("secret.", StringComparison.Ordinal) || ruleId is RuleIds.DenyKeyword or RuleIds.DenyRegex;
}
