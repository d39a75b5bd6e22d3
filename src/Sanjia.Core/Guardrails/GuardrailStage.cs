using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Guardrails;

public static class GuardrailPipelineExtensions
{
    /// <summary>
    /// Checks chat, embedding and image inputs against the policies that apply (the alias's, the key's, the team's)
    /// before any upstream call. With no policy configured nothing is added: the pipeline is as if guardrails did not exist.
    /// </summary>
    /// <param name="engine">The engine the model checks (topic lists, guard models) call models through; without it they fail (open or closed, as configured).</param>
    /// <param name="time">The clock of streams' time-bounded hold-back (<c>Output:WindowMs</c>).</param>
    public static PipelineBuilder UseGuardrails(this PipelineBuilder builder, GuardrailPolicies policies, VirtualKeyCache? keys, ILogger logger, Func<GatewayEngine>? engine = null,
        TimeProvider? time = null) =>
        policies.Any ? builder.Use(new GuardrailStage(new GuardrailResolver(policies, keys), logger, engine, time ?? TimeProvider.System)) : builder;
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

internal sealed partial class GuardrailStage(GuardrailResolver resolver, ILogger logger, Func<GatewayEngine>? engine, TimeProvider time) : IPipelineStage
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
        if (inner is CallHandler<ImageContext, ImageOutcome> images)
        {
            return (CallHandler<TContext, TOutcome>)(object)new ImageGuardrails(images, this);
        }
        return inner;
    }

    /// <summary>What the policies that apply made of one request, and the shortest time bound of a stream's hold-back among them.</summary>
    private readonly record struct Verdict(GuardrailFindings? Findings, GuardrailError? Error, GuardrailPolicy[]? Output, GuardrailPolicy[]? Models,
        TimeSpan? Window = null);

    /// <summary>
    /// Runs the policies that apply over the body; default when none applies, else the findings or the refusal, the
    /// policies with output checks, and those with model checks (to run, asynchronously, over the redacted text).
    /// </summary>
    private Verdict Check(CallContext context, ReadOnlySpan<byte> body, BodyShape shape)
    {
        if (resolver.For(context.Model.RequestedId, context.Caller, out var unknown) is not { } policies)
        {
            return unknown is null ? default : new(null, new GuardrailError(GatewayError.Invalid(
                $"The guardrail policy '{unknown}' named by this key or its team is not configured on this gateway, so the request is refused. Ask an administrator to configure it or to change the key.",
                null, "guardrail_policy_unknown")), null, null);
        }
        // A guard model's or topic list's own call: checking it would check the guard with itself.
        if (ModelCheck.IsCheckCall(context.Caller)) return default;
        context.GuardrailPolicies = policies.Length == 1 ? policies[0].Name : string.Join(',', policies.Select(p => p.Name));
        GuardrailPolicy[]? models = null;
        foreach (var p in policies)
        {
            if (p.ModelChecks is not null) models = [.. models ?? [], p];
        }
        var findings = GuardrailCheck.Run(body, shape, policies, collect: models is not null);
        foreach (var (rule, action, policy) in findings.Matched)
        {
            Matched(logger, rule, action, policy, context.RequestId, context.Endpoint);
            context.NoteGuardrail(new GuardrailDecision(GuardrailDecision.Input, rule, ActionName(action, output: false), policy));
        }
        if (findings.BlockedRule is { } blocked)
        {
            return new(findings, new GuardrailError(Blocked(blocked, findings.BlockedPolicy!)), null, null);
        }
        GuardrailPolicy[]? output = null;
        TimeSpan? window = null;
        foreach (var p in policies)
        {
            if (p.OutputRules.Length > 0) output = [.. output ?? [], p];
            if (p.Window is { } w && (window is null || w < window)) window = w;
        }
        return new(findings, null, output, models, window);
    }

    /// <summary>
    /// The model checks of <paramref name="policies"/>, in order, over the prompt strings as they go upstream
    /// (redacted): the refusal, or null to go on. A check that fails is logged and fails open or closed as configured.
    /// </summary>
    private async ValueTask<GatewayError?> RunModelChecksAsync(CallContext context, GuardrailPolicy[] policies, IReadOnlyList<string> texts, BodyShape shape,
        CancellationToken cancellationToken)
    {
        var gateway = engine?.Invoke();
        foreach (var policy in policies)
        {
            foreach (var check in policy.ModelChecks!)
            {
                var (rule, failure) = await check.RunAsync(gateway, context, texts, shape, cancellationToken).ConfigureAwait(false);
                if (failure is not null)
                {
                    CheckFailed(logger, check.RuleId, policy.Name, context.RequestId, failure, check.FailOpen ? "open" : "closed");
                    if (!check.FailOpen) return Unavailable(check.RuleId, policy.Name, failure);
                    continue;
                }
                if (rule is null) continue;
                Matched(logger, rule, check.Action, policy.Name, context.RequestId, context.Endpoint);
                context.NoteGuardrail(new GuardrailDecision(GuardrailDecision.Input, rule, ActionName(check.Action, output: false), policy.Name));
                if (check.Action == GuardrailAction.Block) return Blocked(rule, policy.Name);
            }
        }
        return null;
    }

    /// <summary>A model check that could not decide, in a policy that fails closed: 503 <c>guardrail_unavailable</c>.</summary>
    internal static GatewayError Unavailable(string rule, string policy, string reason) =>
        new(GatewayErrorKind.Unavailable, $"The guardrail check '{rule}' of the policy '{policy}' could not decide ({reason}), and the policy refuses requests it cannot check. Try again later.")
        { Code = "guardrail_unavailable", Param = rule };

    private readonly TimeProvider _time = time;

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

    [LoggerMessage(EventId = LogEvents.GuardrailCheckFailed, Level = LogLevel.Warning,
        Message = "Guardrail check {Rule} of policy {Policy} could not decide on request {RequestId}: {Reason}; failing {Mode}")]
    private static partial void CheckFailed(ILogger logger, string rule, string policy, string requestId, string reason, string mode);

    private sealed class ChatGuardrails(CallHandler<ChatContext, ChatOutcome> inner, GuardrailStage stage) : DelegatingCallHandler<ChatContext, ChatOutcome>(inner)
    {
        public override ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
        {
            var (findings, error, output, models, window) = stage.Check(context, context.Request.Body.Span, BodyShape.Chat);
            if (error is not null) return ValueTask.FromResult<ChatOutcome>(error.Error);
            if (findings?.RedactedBody is { } body) context.Request = context.Request.WithBody(body, findings.Shift(context.Request.ModelValueStart));
            var holdBack = new HoldBack(window, stage._time);
            if (models is not null) return CheckModelsAsync(context, findings!, output, models, holdBack, cancellationToken);
            if (findings?.Redactions is null && output is null) return Inner.HandleAsync(context, cancellationToken);
            return AnswerAsync(context, findings?.Redactions, output, holdBack, cancellationToken);
        }

        private async ValueTask<ChatOutcome> CheckModelsAsync(ChatContext context, GuardrailFindings findings, GuardrailPolicy[]? output, GuardrailPolicy[] models,
            HoldBack holdBack, CancellationToken cancellationToken)
        {
            if (await stage.RunModelChecksAsync(context, models, findings.Inputs!, BodyShape.Chat, cancellationToken).ConfigureAwait(false) is { } refusal) return refusal;
            if (findings.Redactions is null && output is null) return await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
            return await AnswerAsync(context, findings.Redactions, output, holdBack, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The answer with the placeholders restored, then the output checks (a value the caller sent is checked like any other).</summary>
        private async ValueTask<ChatOutcome> AnswerAsync(ChatContext context, Redactions? redactions, GuardrailPolicy[]? output, HoldBack holdBack, CancellationToken cancellationToken)
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
                    StreamingChatResponse wrapped = redactions is null ? stream : new RestoringStream(stream, redactions, holdBack);
                    return output is null ? wrapped : new OutputCheckingStream(wrapped, output, holdBack, (r, a, p) => stage.OutputMatched(context, r, a, p));
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
            var (findings, error, _, models, _) = stage.Check(context, context.Request.Body.Span, BodyShape.Embeddings);
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
            return models is null ? Inner.HandleAsync(context, cancellationToken) : CheckModelsAsync(context, findings!.Inputs!, models, cancellationToken);
        }

        private async ValueTask<EmbeddingOutcome> CheckModelsAsync(EmbeddingContext context, List<string> texts, GuardrailPolicy[] models, CancellationToken cancellationToken) =>
            await stage.RunModelChecksAsync(context, models, texts, BodyShape.Embeddings, cancellationToken).ConfigureAwait(false) is { } refusal
                ? refusal
                : await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Image prompts, checked and redacted as chat prompts are (nothing to restore: the answer is images).</summary>
    private sealed class ImageGuardrails(CallHandler<ImageContext, ImageOutcome> inner, GuardrailStage stage) : DelegatingCallHandler<ImageContext, ImageOutcome>(inner)
    {
        public override ValueTask<ImageOutcome> HandleAsync(ImageContext context, CancellationToken cancellationToken)
        {
            var (findings, error, _, models, _) = stage.Check(context, context.Request.Body.Span, BodyShape.Image);
            if (error is not null) return ValueTask.FromResult<ImageOutcome>(error.Error);
            if (findings?.RedactedBody is { } body && findings.Inputs is [var prompt])
            {
                var r = context.Request;
                context.Request = new ImageRequest
                {
                    Body = body, Model = r.Model, Prompt = prompt, N = r.N, Size = r.Size, Quality = r.Quality, HasResponseFormat = r.HasResponseFormat,
                    RequestedTimeout = r.RequestedTimeout,
                };
            }
            return models is null ? Inner.HandleAsync(context, cancellationToken) : CheckModelsAsync(context, findings!.Inputs!, models, cancellationToken);
        }

        private async ValueTask<ImageOutcome> CheckModelsAsync(ImageContext context, List<string> texts, GuardrailPolicy[] models, CancellationToken cancellationToken) =>
            await stage.RunModelChecksAsync(context, models, texts, BodyShape.Image, cancellationToken).ConfigureAwait(false) is { } refusal
                ? refusal
                : await Inner.HandleAsync(context, cancellationToken).ConfigureAwait(false);
    }
}
