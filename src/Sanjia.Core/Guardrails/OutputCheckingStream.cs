using Sanjia.Abstractions;

namespace Sanjia.Core.Guardrails;

/// <summary>
/// Output checks on a streamed answer, in windows: each choice's text is checked as it grows, and only what lies more
/// than the window (<see cref="GuardrailPolicy.WindowChars"/>) before its end is sent, so a value that arrives in
/// pieces is whole before any of it leaves. A <c>mask</c> match is replaced by its kind (<c>[EMAIL]</c>) and the
/// stream goes on; a <c>block</c> match ends the stream with the protocol's error event (<c>guardrail_blocked</c>
/// naming the rule). The rest is sent with the finish chunk, or once it has been held for the policy's time bound
/// (<see cref="GuardrailPolicy.Window"/>) while the upstream is silent.
/// </summary>
internal sealed class OutputCheckingStream(StreamingChatResponse inner, GuardrailPolicy[] policies, HoldBack holdBack, Action<string, GuardrailAction, string> matched)
    : ContentStream(inner, holdBack)
{
    private readonly int _window = policies.Max(p => p.WindowChars);
    private readonly List<Detection> _found = [];
    private readonly List<(GuardrailAction Action, string Policy)> _actions = [];
    private readonly HashSet<string> _noted = [];

    /// <summary>Every chunk with content is read: the checks must see all the text.</summary>
    protected override bool MayNeedRewrite(ReadOnlySpan<byte> chunk) => true;

    protected override string Transform(int index, string text, bool finished, out string held)
    {
        _found.Clear();
        _actions.Clear();
        foreach (var policy in policies)
        {
            foreach (var (detector, action) in policy.OutputRules)
            {
                var before = _found.Count;
                detector.Scan(text, _found);
                if (_found.Count == before) continue;
                for (var i = before; i < _found.Count; i++) _actions.Add((action, policy.Name));
                // A masked value is seen again in the next window: log it once per rule and policy.
                if (_noted.Add(detector.RuleId + " " + policy.Name)) matched(detector.RuleId, action, policy.Name);
                if (action == GuardrailAction.Block)
                {
                    throw new GatewayException(GuardrailStage.Blocked(detector.RuleId, policy.Name) with { Usage = Inner.Usage });
                }
            }
        }
        var masked = _found.Count == 0 ? text : GuardrailCheck.Redact(text, _found, _actions, new GuardrailFindings(), mask: true) ?? text;
        var cut = finished ? masked.Length : Math.Max(0, masked.Length - _window);
        held = masked[cut..];
        return masked[..cut];
    }
}
