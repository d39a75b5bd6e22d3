using System.Text.RegularExpressions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// <c>Sanjia:Guardrails</c>: named policies, and which aliases they apply to. Keys and teams name policies in their
/// own <c>guardrails</c> field (docs/decisions/0004-key-model.md). With no policy configured the guardrail stage is not
/// in the pipeline at all.
/// </summary>
public sealed class GuardrailOptions
{
    public Dictionary<string, GuardrailPolicyOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Model id as the client sends it (an alias or <c>provider/model</c>) → the policies that apply to every call of it.</summary>
    public Dictionary<string, List<string>> Aliases { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One policy: an action per rule id, deny lists and an input size limit.</summary>
public sealed class GuardrailPolicyOptions
{
    /// <summary>Rule id (<c>pii.email</c>, <c>secret.jwt</c>, <c>injection.heuristic</c>, ...) → <c>block</c>, <c>redact</c> or <c>log</c>.</summary>
    public Dictionary<string, string> Rules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Words or phrases (case-insensitive) for <c>deny.keyword</c>; its action is <c>block</c> unless <see cref="Rules"/> says otherwise.</summary>
    public List<string> DenyKeywords { get; set; } = [];

    /// <summary>.NET regular expressions (case-insensitive, run without backtracking) for <c>deny.regex</c>; <c>block</c> unless <see cref="Rules"/> says otherwise.</summary>
    public List<string> DenyPatterns { get; set; } = [];

    /// <summary>Checks on the answers: complete ones, and streams in windows (see <see cref="GuardrailOutputOptions"/>).</summary>
    public GuardrailOutputOptions Output { get; set; } = new();

    /// <summary><c>limit.input_size</c>: the most characters of message (or embedding input) text a request may carry; it is refused past that.</summary>
    public int? MaxInputChars { get; set; }

    /// <summary><c>guard.model</c>: a model behind the gateway that judges the prompt (Llama Guard, Qwen3Guard, a moderation endpoint).</summary>
    public GuardModelOptions? GuardModel { get; set; }

    /// <summary><c>topic.deny</c> and <c>topic.allow</c>: the prompt's embedding against example sentences.</summary>
    public GuardrailTopicOptions? Topics { get; set; }
}

/// <summary>
/// A guard model: any chat model behind the gateway (Llama Guard or Qwen3Guard served by Ollama or vLLM, a local GGUF)
/// asked whether the prompt is safe, or a moderation endpoint in OpenAI's <c>/v1/moderations</c> format. Its call is
/// the gateway's own traffic (key id <c>guard:&lt;policy&gt;</c>), metered and routed like any call.
/// </summary>
public sealed class GuardModelOptions
{
    /// <summary>The model id as clients would send it (an alias or <c>provider/model</c>).</summary>
    public string? Model { get; set; }

    /// <summary>How the answer reads: <c>llama-guard</c> (<c>safe</c>, or <c>unsafe</c> and the categories on the next line), <c>qwen3-guard</c> (<c>Safety: Unsafe</c> and <c>Categories: ...</c>) or <c>openai-moderation</c> (OpenAI's <c>/v1/moderations</c>: <c>flagged</c> and <c>categories</c>).</summary>
    public string Format { get; set; } = "llama-guard";

    /// <summary>
    /// The policy prompt, with <c>{prompt}</c> where the caller's text goes, sent as the one user message. Unset: the
    /// caller's text is the user message and the model's own chat template carries its policy (as Ollama's and vLLM's
    /// templates for Llama Guard and Qwen3Guard do).
    /// </summary>
    public string? Prompt { get; set; }

    /// <summary>Only these categories count (<c>S1</c>, <c>Violent</c>, <c>violence</c>); empty: any unsafe verdict counts.</summary>
    public List<string> Categories { get; set; } = [];

    /// <summary>Qwen3Guard's middle verdict, <c>Controversial</c>, counts as unsafe (its "strict" reading); by default it passes.</summary>
    public bool FlagControversial { get; set; }

    /// <summary>How long the guard may take before <see cref="OnError"/> decides.</summary>
    public int TimeoutMs { get; set; } = 5000;

    /// <summary><c>closed</c> (refuse with 503 <c>guardrail_unavailable</c> when the guard fails or times out) or <c>open</c> (let the request through, logged).</summary>
    public string OnError { get; set; } = "closed";

    /// <summary><c>block</c> or <c>log</c> for an unsafe verdict.</summary>
    public string Action { get; set; } = "block";
}

/// <summary>Topic lists: the prompt's embedding against example sentences, by cosine similarity.</summary>
public sealed class GuardrailTopicOptions
{
    /// <summary>The embedding model behind the gateway; the built-in MiniLM by default (<c>Sanjia:Local:Embeddings</c> on).</summary>
    public string Model { get; set; } = "local/all-minilm-l6-v2";

    /// <summary><c>topic.allow</c>: when given, a prompt like none of these (below <see cref="Threshold"/>) is off-topic.</summary>
    public List<string> Allow { get; set; } = [];

    /// <summary><c>topic.deny</c>: a prompt like one of these (at or above <see cref="Threshold"/>) is refused.</summary>
    public List<string> Deny { get; set; } = [];

    /// <summary>Cosine similarity from 0 to 1.</summary>
    public double Threshold { get; set; } = 0.5;

    /// <summary><c>block</c> or <c>log</c>.</summary>
    public string Action { get; set; } = "block";

    public int TimeoutMs { get; set; } = 5000;

    /// <summary><c>closed</c> or <c>open</c>, as for the guard model.</summary>
    public string OnError { get; set; } = "closed";
}

/// <summary>Output checks: an action per rule id on what the model answers.</summary>
public sealed class GuardrailOutputOptions
{
    /// <summary>Rule id → <c>mask</c> (the span becomes <c>[EMAIL]</c> and the answer goes on), <c>block</c> (a complete answer is refused, a stream ends with the protocol's error event) or <c>log</c>.</summary>
    public Dictionary<string, string> Rules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How many characters of a streamed answer are held back so a value split across chunks is seen whole before it
    /// is sent: it must exceed the longest value to mask (64 covers addresses, numbers and <c>sk-</c> keys; a JWT or a
    /// PEM key needs more). Only streams with output rules hold anything back.
    /// </summary>
    public int WindowChars { get; set; } = 64;

    /// <summary>
    /// The longest a character of a streamed answer is held back, in milliseconds, for output checks and for the
    /// restoring of placeholders: when the upstream is silent that long, what is held is checked as it is and sent.
    /// A value whose pieces arrive further apart than this is checked in parts (and may pass unmasked); 0 or less
    /// turns the time bound off (only <see cref="WindowChars"/> bounds the hold-back).
    /// </summary>
    public int WindowMs { get; set; } = 1000;
}

public enum GuardrailAction
{
    Log,
    Redact,
    Block,
}

/// <summary>A validated policy, its detectors made once: built-in ones shared, deny lists per policy.</summary>
public sealed class GuardrailPolicy
{
    internal GuardrailPolicy(string name, (Detector Detector, GuardrailAction Action)[] rules, int? maxInputChars,
        (Detector Detector, GuardrailAction Action)[] outputRules, int windowChars, ModelCheck[]? modelChecks = null, TimeSpan? window = null)
    {
        Name = name;
        Window = window;
        ModelChecks = modelChecks;
        Rules = rules;
        MaxInputChars = maxInputChars;
        OutputRules = outputRules;
        WindowChars = windowChars;
    }

    /// <summary>The checks on answers (<see cref="GuardrailAction.Redact"/> is masking there); empty when the policy has none.</summary>
    internal (Detector Detector, GuardrailAction Action)[] OutputRules { get; }

    /// <summary>How much of a streamed answer is held back for <see cref="OutputRules"/>.</summary>
    public int WindowChars { get; }

    /// <summary>How long any character of a streamed answer may be held back (output checks, restoring placeholders); null: no time bound.</summary>
    public TimeSpan? Window { get; }

    /// <summary>Checks that call a model behind the gateway (topic lists, the guard model), in that order; null when none.</summary>
    internal ModelCheck[]? ModelChecks { get; }

    public string Name { get; }
    internal (Detector Detector, GuardrailAction Action)[] Rules { get; }
    public int? MaxInputChars { get; }
}

/// <summary>The policies in force, by name, and the aliases' policies, built from <see cref="GuardrailOptions"/> at start.</summary>
public sealed class GuardrailPolicies
{
    private const string P = SanjiaOptions.Section + ":Guardrails";

    private readonly Dictionary<string, GuardrailPolicy> _byName;
    private readonly Dictionary<string, GuardrailPolicy[]> _byAlias;

    private GuardrailPolicies(Dictionary<string, GuardrailPolicy> byName, Dictionary<string, GuardrailPolicy[]> byAlias)
    {
        _byName = byName;
        _byAlias = byAlias;
    }

    /// <summary>Whether any policy is configured (if not, the stage stays out of the pipeline).</summary>
    public bool Any => _byName.Count > 0;

    public IEnumerable<string> Names => _byName.Keys;

    public bool Contains(string name) => _byName.ContainsKey(name);

    public GuardrailPolicy? Find(string name) => _byName.GetValueOrDefault(name);

    public GuardrailPolicy[]? ForAlias(string modelId) => _byAlias.Count == 0 ? null : _byAlias.GetValueOrDefault(modelId);

    public static readonly GuardrailPolicies None = new(new(StringComparer.OrdinalIgnoreCase), new(StringComparer.OrdinalIgnoreCase));

    /// <summary>Validates the options (errors name the exact path) and builds the policies; null when there are errors.</summary>
    public static GuardrailPolicies? Build(GuardrailOptions options, ConfigErrors errors)
    {
        var byName = new Dictionary<string, GuardrailPolicy>(StringComparer.OrdinalIgnoreCase);
        var ok = true;
        foreach (var (name, p) in options.Policies)
        {
            var path = $"{P}:Policies:{name}";
            var rules = new List<(Detector, GuardrailAction)>();
            var keywordAction = GuardrailAction.Block;
            var patternAction = GuardrailAction.Block;
            foreach (var (rule, actionText) in p.Rules)
            {
                if (!TryAction(actionText, out var action))
                {
                    errors.Add($"{path}:Rules:{rule}", $"'{actionText}' is not an action: use block, redact or log.");
                    ok = false;
                    continue;
                }
                if (rule == RuleIds.DenyKeyword) { keywordAction = action; continue; }
                if (rule == RuleIds.DenyRegex) { patternAction = action; continue; }
                if (rule == RuleIds.InputSize)
                {
                    if (action != GuardrailAction.Block) { errors.Add($"{path}:Rules:{rule}", "an input over the size limit can only be blocked."); ok = false; }
                    continue;
                }
                if (!BuiltInDetectors.ByRuleId.TryGetValue(rule, out var detector))
                {
                    var known = string.Join(", ", BuiltInDetectors.ByRuleId.Keys.Append(RuleIds.DenyKeyword).Append(RuleIds.DenyRegex).Append(RuleIds.InputSize));
                    errors.Add($"{path}:Rules:{rule}", $"unknown rule id. Known: {known}.");
                    ok = false;
                    continue;
                }
                if (action == GuardrailAction.Redact && !BuiltInDetectors.IsRedactable(rule))
                {
                    errors.Add($"{path}:Rules:{rule}", "this rule judges the whole prompt and has no value to replace: use block or log.");
                    ok = false;
                    continue;
                }
                rules.Add((detector, action));
            }
            if (p.DenyKeywords.Count > 0)
            {
                if (p.DenyKeywords.Any(string.IsNullOrWhiteSpace)) { errors.Add($"{path}:DenyKeywords", "must not contain empty entries."); ok = false; }
                else rules.Add((new KeywordDetector(p.DenyKeywords), keywordAction));
            }
            else if (p.Rules.ContainsKey(RuleIds.DenyKeyword))
            {
                errors.Add($"{path}:DenyKeywords", $"the rule {RuleIds.DenyKeyword} needs at least one keyword here.");
                ok = false;
            }
            if (p.DenyPatterns.Count > 0)
            {
                var valid = true;
                for (var i = 0; i < p.DenyPatterns.Count; i++)
                {
                    try
                    {
                        _ = new Regex(p.DenyPatterns[i], RegexOptions.NonBacktracking);
                    }
                    catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                    {
                        errors.Add($"{path}:DenyPatterns:{i}", $"not a usable regular expression ({ex.Message.TrimEnd('.')}).");
                        valid = ok = false;
                    }
                }
                if (valid) rules.Add((new PatternDetector(p.DenyPatterns), patternAction));
            }
            else if (p.Rules.ContainsKey(RuleIds.DenyRegex))
            {
                errors.Add($"{path}:DenyPatterns", $"the rule {RuleIds.DenyRegex} needs at least one pattern here.");
                ok = false;
            }
            if (p.MaxInputChars is < 1)
            {
                errors.Add($"{path}:MaxInputChars", "must be at least 1.");
                ok = false;
            }
            var outputRules = new List<(Detector, GuardrailAction)>();
            foreach (var (rule, actionText) in p.Output.Rules)
            {
                var at = $"{path}:Output:Rules:{rule}";
                if (!TryOutputAction(actionText, out var action))
                {
                    errors.Add(at, $"'{actionText}' is not an action on answers: use mask, block or log.");
                    ok = false;
                }
                else if (!BuiltInDetectors.ByRuleId.TryGetValue(rule, out var detector))
                {
                    errors.Add(at, $"unknown rule id. Known on answers: {string.Join(", ", BuiltInDetectors.ByRuleId.Keys)}.");
                    ok = false;
                }
                else if (action == GuardrailAction.Redact && !BuiltInDetectors.IsRedactable(rule))
                {
                    errors.Add(at, "this rule judges the whole text and has no span to mask: use block or log.");
                    ok = false;
                }
                else
                {
                    outputRules.Add((detector, action));
                }
            }
            if (p.Output.WindowChars is < 0 or > 65536)
            {
                errors.Add($"{path}:Output:WindowChars", "must be between 0 and 65536 characters.");
                ok = false;
            }
            var modelChecks = new List<ModelCheck>();
            if (p.Topics is { } topics && TopicCheck.Build(name, topics, $"{path}:Topics", errors) is { } topicCheck) modelChecks.Add(topicCheck);
            else if (p.Topics is not null) ok = false;
            if (p.GuardModel is { } guard && GuardModelCheck.Build(name, guard, $"{path}:GuardModel", errors) is { } guardCheck) modelChecks.Add(guardCheck);
            else if (p.GuardModel is not null) ok = false;
            if (rules.Count == 0 && p.MaxInputChars is null && outputRules.Count == 0 && modelChecks.Count == 0)
            {
                errors.Add(path, "the policy checks nothing: give it Rules, DenyKeywords, DenyPatterns, MaxInputChars, Topics, GuardModel or Output:Rules.");
                ok = false;
            }
            if (p.Output.WindowMs > 600_000)
            {
                errors.Add($"{path}:Output:WindowMs", "must be at most 600000 milliseconds (0 or less: no time bound).");
                ok = false;
            }
            byName[name] = new GuardrailPolicy(name, [.. rules], p.MaxInputChars, [.. outputRules], p.Output.WindowChars,
                modelChecks.Count == 0 ? null : [.. modelChecks], p.Output.WindowMs > 0 ? TimeSpan.FromMilliseconds(p.Output.WindowMs) : null);
        }
        var byAlias = new Dictionary<string, GuardrailPolicy[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (alias, names) in options.Aliases)
        {
            var list = new List<GuardrailPolicy>();
            for (var i = 0; i < names.Count; i++)
            {
                if (byName.TryGetValue(names[i], out var policy)) list.Add(policy);
                else { errors.Add($"{P}:Aliases:{alias}:{i}", $"there is no policy '{names[i]}' under {P}:Policies."); ok = false; }
            }
            if (list.Count > 0) byAlias[alias] = [.. list];
        }
        return ok ? new GuardrailPolicies(byName, byAlias) : null;
    }

    /// <summary>On answers, masking (<see cref="GuardrailAction.Redact"/> with no restore) is called <c>mask</c>.</summary>
    private static bool TryOutputAction(string text, out GuardrailAction action)
    {
        if (text.Trim().Equals("mask", StringComparison.OrdinalIgnoreCase))
        {
            action = GuardrailAction.Redact;
            return true;
        }
        return TryAction(text, out action) && action != GuardrailAction.Redact;
    }

    internal static bool TryAction(string text, out GuardrailAction action)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "block": action = GuardrailAction.Block; return true;
            case "redact": action = GuardrailAction.Redact; return true;
            case "log": case "log-only": case "log_only": action = GuardrailAction.Log; return true;
            default: action = default; return false;
        }
    }
}
