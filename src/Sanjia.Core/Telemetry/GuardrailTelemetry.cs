using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sanjia.Abstractions;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Telemetry;

/// <summary>
/// Guardrail decisions in telemetry (docs/observability.md, docs/guardrails.md): the request's server span gets the
/// <c>sanjia.guardrail.*</c> attributes and the <c>sanjia.guardrail.decisions</c> counter one count per decision, by
/// check, rule id, action and policy. Rule ids, actions and policy names only, never the matched text. Called only when a
/// rule matched (<see cref="CallContext.NoteGuardrail"/>): a request without a decision never gets here.
/// </summary>
public static class GuardrailTelemetry
{
    /// <summary>The rule ids that matched, in order (string array); the arrays below are parallel to it.</summary>
    public const string Rules = "sanjia.guardrail.rules";
    /// <summary>The action each took: <c>block</c>, <c>redact</c>, <c>log</c>, or <c>mask</c> on an answer.</summary>
    public const string Actions = "sanjia.guardrail.actions";
    /// <summary>Where each ran: <c>input</c> (the prompt) or <c>output</c> (the answer).</summary>
    public const string Checks = "sanjia.guardrail.checks";
    /// <summary>The policy each rule belongs to.</summary>
    public const string Policies = "sanjia.guardrail.policies";
    /// <summary>The rule that refused the request or ended its answer, when one did.</summary>
    public const string Blocked = "sanjia.guardrail.blocked";

    /// <summary>Metric tags: one decision's rule id, action, check and policy (policies are configured, so bounded).</summary>
    public const string Rule = "sanjia.guardrail.rule";
    public const string Policy = "sanjia.guardrail.policy";
    public const string Action = "sanjia.guardrail.action";
    public const string Check = "sanjia.guardrail.check";

    private static readonly Counter<long> Decisions = GatewayTelemetry.Meter.CreateCounter<long>("sanjia.guardrail.decisions", "{decision}",
        "Guardrail decisions by check (input or output), rule id, action and policy (each once per request).");

    internal static void Decided(CallContext context, GuardrailDecision decision)
    {
        if (Decisions.Enabled)
        {
            Decisions.Add(1, new(Check, decision.Check), new(Rule, decision.Rule), new(Action, decision.Action), new(Policy, decision.Policy));
        }
        if (context.ServerSpan is { } span && context.Guardrails is { } all)
        {
            // The whole list again: a request has a handful of decisions, and the span keeps only the last value per name.
            span.SetTag(Rules, Array.ConvertAll(all, d => d.Rule));
            span.SetTag(Actions, Array.ConvertAll(all, d => d.Action));
            span.SetTag(Checks, Array.ConvertAll(all, d => d.Check));
            span.SetTag(Policies, Array.ConvertAll(all, d => d.Policy));
            if (decision.Action == "block") span.SetTag(Blocked, decision.Rule);
        }
    }
}
