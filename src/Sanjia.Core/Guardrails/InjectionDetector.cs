using System.Buffers;
using System.Text.RegularExpressions;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// <c>injection.heuristic</c>: prompt-injection phrasing in English and Chinese, scored. A strong signal (an order to
/// ignore or cancel the instructions, rules or system prompt; a request to reveal or repeat them; bypassing the
/// restrictions) scores 2, a weak one (persona and jailbreak words: "developer mode", "DAN", "from now on",
/// 扮演, 越狱, "no restrictions") scores 1, and the text is flagged at 2. The trade-off is precision over recall: a
/// persona word alone ("act as a travel agent", "jailbroken iPhones") never flags; paraphrases with none of the
/// phrasings are missed (docs/guardrails.md has the corpus figures). The detection's span is the first strong signal,
/// else the first weak one.
/// </summary>
internal sealed partial class InjectionDetector : Detector
{
    public override string RuleId => RuleIds.Injection;

    private const RegexOptions Opts = RegexOptions.CultureInvariant | RegexOptions.IgnoreCase;

    // English, strong.
    [GeneratedRegex(@"\b(?:ignor(?:e|es|ing)|disregard|forget|override|bypass|skip|stop following|do not follow|don't follow)\b[^.!?\n]{0,40}?\b(?:instructions?|prompts?|rules|directions|guidelines|restrictions|polic(?:y|ies)|(?:system|developer) messages?|safety|filters?)\b", Opts)]
    private static partial Regex EnIgnore();

    [GeneratedRegex(@"\b(?:reveal|show|print|repeat|output|display|leak|read|tell|give|what (?:are|were|is))\b[^.!?\n]{0,40}?(?:system (?:prompt|message)|hidden (?:prompt|instructions)|initial (?:instructions|prompt)|your (?:instructions|prompt|rules)|confidential instructions|(?:the )?(?:words|text|everything) above)", Opts)]
    private static partial Regex EnReveal();

    [GeneratedRegex(@"\bforget (?:everything|all)\b[^.!?\n]{0,30}\b(?:told|said|instructions|rules|before)\b|\b(?:previous|prior|earlier|original) (?:instructions|rules|prompt)\b[^.!?\n]{0,20}\b(?:cancell?ed|void|revoked|overridden|no longer apply)\b", Opts)]
    private static partial Regex EnCancel();

    // English, weak.
    [GeneratedRegex(@"\byou are (?:now|no longer)\b|\b(?:developer|DAN|god|jailbreak) mode\b|\bDAN\b|\bjailbr\w*|\bdo anything now\b|\b(?:no|without any|without) (?:restrictions|limits|filters?|guidelines)\b|\bunfiltered\b|\bunrestricted\b|\bfrom now on\b|</?system>|^\s*system:|\b(?:must|will) (?:comply|obey)\b|\bobey only\b", Opts | RegexOptions.Multiline)]
    private static partial Regex EnWeak();

    // Chinese, strong.
    [GeneratedRegex(@"(?:忽略|无视|忘掉|忘记|不要理会|别管|跳过|不要遵守|不要遵循|停止遵循|停止遵守|别再遵守)[^。！？\n]{0,12}?(?:指令|指示|规则|设定|提示词|提示|要求|限制|安全策略|安全准则|准则|规定|政策|开发者消息|系统消息|对话)")]
    private static partial Regex ZhIgnore();

    [GeneratedRegex(@"(?:输出|显示|告诉我|泄露|重复|复述|打印|透露|给我看)[^。！？\n]{0,12}?(?:系统提示|系统消息|提示词|初始(?:设定|提示|指令|prompt)|隐藏(?:指令|提示)|第一条指令|你的设定|prompt)|(?:系统提示词?|系统消息|隐藏指令|初始设定)[^。！？\n]{0,8}?(?:输出|显示|复述|打印|告诉我|给我)|(?:上面|以上)的(?:文字|内容)[^。！？\n]{0,12}?(?:重复|复述|输出|打印)")]
    private static partial Regex ZhReveal();

    [GeneratedRegex(@"(?:设定|指令|规则|限制)[^。！？\n]{0,6}?(?:作废|被取消|已取消|取消了|无效了)|(?:解除|绕过|突破|摆脱)[^。！？\n]{0,6}?(?:限制|安全|规则)")]
    private static partial Regex ZhCancel();

    // Chinese, weak.
    [GeneratedRegex(@"开发者模式|越狱|DAN|没有(?:任何)?(?:道德)?限制|不受(?:任何)?[^。！？\n]{0,4}?(?:限制|约束)|从现在(?:开始|起)|你(?:现在)?不再是|扮演|假装|服从|听我的|按我说的做")]
    private static partial Regex ZhWeak();

    /// <summary>
    /// Every pattern below needs one of these words (its nouns, or its persona words): a prompt with none of them is
    /// passed in one vectorized search, without running the patterns. Keep the two in step when a pattern changes.
    /// </summary>
    private static readonly SearchValues<string> EnglishTriggers = SearchValues.Create(
    [
        "instruction", "prompt", "rule", "direction", "guideline", "restriction", "polic", "message", "safety", "filter", "system",
        "above", "forget", "you are", "mode", "dan", "jailbr", "anything now", "limit", "unrestricted", "from now on", "comply", "obey",
    ], StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Apart from the English ones (which include "DAN" and "prompt", case-insensitive, for both languages). Found by a
    /// vectorized search for their first characters and a comparison at each: a <c>SearchValues&lt;string&gt;</c> of
    /// these CJK strings measured about 5 times slower on the benchmark's mixed prompt (bench/README.md), as common
    /// characters in Chinese prose start candidate matches it follows one by one.
    /// </summary>
    private static readonly string[] ChineseTriggers =
    [
        "指令", "指示", "规则", "设定", "提示", "要求", "限制", "安全", "准则", "规定", "政策", "消息", "对话", "初始", "隐藏", "上面", "以上",
        "约束", "越狱", "从现在", "不再是", "扮演", "假装", "服从", "听我的", "按我说的",
    ];

    private static readonly SearchValues<char> ChineseFirstChars = SearchValues.Create(string.Concat(ChineseTriggers.Select(t => t[0]).Distinct()));

    private static bool HasChineseTrigger(ReadOnlySpan<char> text)
    {
        var i = 0;
        while (true)
        {
            var next = text[i..].IndexOfAny(ChineseFirstChars);
            if (next < 0) return false;
            i += next;
            var rest = text[i..];
            foreach (var t in ChineseTriggers)
            {
                if (rest.StartsWith(t, StringComparison.Ordinal)) return true;
            }
            i++;
        }
    }

    public override void Scan(ReadOnlySpan<char> text, List<Detection> found)
    {
        if (text.IndexOfAny(EnglishTriggers) < 0 && !HasChineseTrigger(text)) return;
        int score = 0, start = -1, length = 0;
        foreach (var strong in (ReadOnlySpan<Regex>)[EnIgnore(), EnReveal(), EnCancel(), ZhIgnore(), ZhReveal(), ZhCancel()])
        {
            foreach (var m in strong.EnumerateMatches(text))
            {
                (start, length) = (m.Index, m.Length);
                score = 2;
                break;
            }
            if (score >= 2) break;
        }
        if (score < 2)
        {
            foreach (var weak in (ReadOnlySpan<Regex>)[EnWeak(), ZhWeak()])
            {
                foreach (var m in weak.EnumerateMatches(text))
                {
                    if (start < 0) (start, length) = (m.Index, m.Length);
                    if (++score >= 2) break;
                }
                if (score >= 2) break;
            }
        }
        if (score >= 2) found.Add(new(RuleId, start, length));
    }
}
