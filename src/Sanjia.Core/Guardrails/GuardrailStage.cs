using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Guardrails;

public static class GuardrailPipelineExtensions
{
    /// <summary>
    /// Checks chat and embedding inputs against the policies that apply (the alias's, the key's, the team's) before
    /// any upstream call. With no policy configured nothing is added: the pipeline is as if guardrails did not exist.
    /// </summary>
    public static PipelineBuilder UseGuardrails(this PipelineBuilder builder, GuardrailPolicies policies, VirtualKeyCache? keys, ILogger logger) =>
        policies.Any ? builder.Use(new GuardrailStage(new GuardrailResolver(policies, keys), logger)) : builder;
}

/// <summary>Which policies apply to one call: the model id's (alias), the key's and its team's, in that order, each once.</summary>
internal sealed class GuardrailResolver(GuardrailPolicies policies, VirtualKeyCache? keys)
{
    /// <summary>The policies, or null when none applies; <paramref name="unknown"/> is a name a key or team gives that is not configured.</summary>
    public GuardrailPolicy[]? For(string modelId, Caller caller, out string? unknown)
    {
        unknown = null;
        var alias = policies.ForAlias(modelId);
        var keyNames = caller.Guardrails;
        var teamNames = caller.TeamId is { } team && keys?.Team(team) is { Guardrails.Count: > 0 } t ? t.Guardrails : null;
        if (keyNames is null && teamNames is null) return alias;
        var list = alias is null ? new List<GuardrailPolicy>(2) : [.. alias];
        foreach (var names in (ReadOnlySpan<IReadOnlyList<string>?>)[keyNames, teamNames])
        {
            if (names is null) continue;
            foreach (var name in names)
            {
                if (policies.Find(name) is not { } p)
                {
                    unknown = name;
                    return null;
                }
                if (!list.Contains(p)) list.Add(p);
            }
        }
        return list.Count == 0 ? null : [.. list];
    }
}

internal sealed partial class GuardrailStage(GuardrailResolver resolver, ILogger logger) : IPipelineStage
{
    public CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
        where TKind : struct, ICallKind<TContext, TOutcome>
        where TContext : CallContext
    {
        if (inner is CallHandler<ChatContext, ChatOutcome> chat)
        {
            return (CallHandler<TContext, TOutcome>)(object)new ChatGuardrails(chat, this);
        }
        if (inner is CallHandler<EmbeddingContext, EmbeddingOutcome> embeddings)
        {
            return (CallHandler<TContext, TOutcome>)(object)new EmbeddingGuardrails(embeddings, this);
        }
        return inner;
    }

    /// <summary>Runs the policies that apply over the body; null when none applies, else the findings or the refusal, and the policies with output checks.</summary>
    private (GuardrailFindings? Findings, GuardrailError? Error, GuardrailPolicy[]? Output) Check(CallContext context, ReadOnlySpan<byte> body, BodyShape shape)
    {
        if (resolver.For(context.Model.RequestedId, context.Caller, out var unknown) is not { } policies)
        {
            return unknown is null ? default : (null, new GuardrailError(GatewayError.Invalid(
                $"The guardrail policy '{unknown}' named by this key or its team is not configured on this gateway, so the request is refused. Ask an administrator to configure it or to change the key.",
                null, "guardrail_policy_unknown")), null);
        }
        context.GuardrailPolicies = policies.Length == 1 ? policies[0].Name : string.Join(',', policies.Select(p => p.Name));
        var findings = GuardrailCheck.Run(body, shape, policies);
        foreach (var (rule, action, policy) in findings.Matched)
        {
            Matched(logger, rule, action, policy, context.RequestId, context.Endpoint);
            context.NoteGuardrail(new GuardrailDecision(GuardrailDecision.Input, rule, ActionName(action, output: false), policy));
        }
        if (findings.BlockedRule is { } blocked)
        {
            return (findings, new GuardrailError(Blocked(blocked, findings.BlockedPolicy!)), null);
        }
        GuardrailPolicy[]? output = null;
        foreach (var p in policies)
        {
            if (p.OutputRules.Length > 0) output = [.. output ?? [], p];
        }
        return (findings, null, output);
    }

    /// <summary>An output check's match: logged, and recorded on the call for its ledger row, span and counter.</summary>
    private void OutputMatched(CallContext context, string rule, GuardrailAction action, string policy)
    {
        Matched(logger, rule, action, policy, context.RequestId, context.Endpoint);
        context.NoteGuardrail(new GuardrailDecision(GuardrailDecision.Output, rule, ActionName(action, output: true), policy));
    }

    /// <summary>An action as the ledger and telemetry name it; on answers a redaction is a mask (nothing to restore).</summary>
    private static string ActionName(GuardrailAction action, bool output) => action switch
    {
        GuardrailAction.Block => "block",
        GuardrailAction.Redact => output ? "mask" : "redact",
        _ => "log",
    };

    /// <summary>The refusal: 400 <c>guardrail_blocked</c> naming the rule and the policy, never the matched text.</summary>
    internal static GatewayError Blocked(string rule, string policy) =>
        new(GatewayErrorKind.InvalidRequest, $"The request was blocked by the guardrail rule '{rule}' of the policy '{policy}'.")
        { Code = "guardrail_blocked", Param = rule };

    private sealed record GuardrailError(GatewayError Error);

    [LoggerMessage(EventId = LogEvents.GuardrailMatched, Level = LogLevel.Information,
        Message = "Guardrail rule {Rule} matched ({Action}, policy {Policy}) on request {RequestId} to {Endpoint}")]
    private static partial void Matched(ILogger logger, string rule, GuardrailAction action, string policy, string requestId, string endpoint);

    private sealed class ChatGuardrails(CallHandler<ChatContext, ChatOutcome> inner, GuardrailStage stage) : DelegatingCallHandler<ChatContext, ChatOutcome>(inner)
    {
        public override ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
        {
            var (findings, error, output) = stage.Check(context, context.Request.Body.Span, BodyShape.Chat);
            if (error is not null) return ValueTask.FromResult<ChatOutcome>(error.Error);
            if (findings?.RedactedBody is { } body) context.Request = context.Request.WithBody(body, findings.Shift(context.Request.ModelValueStart));
            if (findings?.Redactions is null && output is null) return Inner.HandleAsync(context, cancellationToken);
            return AnswerAsync(context, findings?.Redactions, output, cancellationToken);
        }

        /// <summary>The answer with the placeholders restored, then the output checks (a value the caller sent is checked like any other).</summary>
        private async ValueTask<ChatOutcome> AnswerAsync(ChatContext context, Redactions? redactions, GuardrailPolicy[]? output, CancellationToken cancellationToken)
        {
            var outcome = await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
            switch (outcome.Response)
            {
                case CompleteChatResponse complete:
                    var body = redactions?.RestoreJson(complete.Body.Span) ?? complete.Body;
                    if (output is not null)
                    {
                        var checkedAnswer = GuardrailCheck.Run(body.Span, BodyShape.Answer, output);
                        foreach (var (rule, action, policy) in checkedAnswer.Matched) stage.OutputMatched(context, rule, action, policy);
                        if (checkedAnswer.BlockedRule is { } blocked)
                        {
                            // The tokens were spent: the refusal carries them, so metering charges them.
                            return Blocked(blocked, checkedAnswer.BlockedPolicy!) with { Usage = complete.Usage };
                        }
                        body = checkedAnswer.RedactedBody ?? body;
                    }
                    return body.Equals(complete.Body) ? outcome : new CompleteChatResponse(body, complete.Usage);
                case StreamingChatResponse stream:
                    StreamingChatResponse wrapped = redactions is null ? stream : new RestoringStream(stream, redactions);
                    return output is null ? wrapped : new OutputCheckingStream(wrapped, output, (r, a, p) => stage.OutputMatched(context, r, a, p));
                default:
                    return outcome;
            }
        }
    }

    private sealed class EmbeddingGuardrails(CallHandler<EmbeddingContext, EmbeddingOutcome> inner, GuardrailStage stage)
        : DelegatingCallHandler<EmbeddingContext, EmbeddingOutcome>(inner)
    {
        public override ValueTask<EmbeddingOutcome> HandleAsync(EmbeddingContext context, CancellationToken cancellationToken)
        {
            var (findings, error, _) = stage.Check(context, context.Request.Body.Span, BodyShape.Embeddings);
            if (error is not null) return ValueTask.FromResult<EmbeddingOutcome>(error.Error);
            if (findings?.RedactedBody is { } body && !context.Request.InputIsTokens)
            {
                // Vectors of the redacted text: nothing in them to restore.
                var r = context.Request;
                context.Request = new EmbeddingRequest
                {
                    Body = body, Model = r.Model, Inputs = findings.Inputs!, InputIsTokens = r.InputIsTokens, Base64 = r.Base64,
                    Dimensions = r.Dimensions, RequestedTimeout = r.RequestedTimeout,
                };
            }
            return Inner.HandleAsync(context, cancellationToken);
        }
    }
}
