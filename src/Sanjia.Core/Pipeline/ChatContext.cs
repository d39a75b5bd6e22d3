using Sanjia.Abstractions;
using Sanjia.Core.Models;

namespace Sanjia.Core.Pipeline;

/// <summary>
/// Who is calling: filled by authentication, read by metering, budgets and limits. <c>IsMaster</c> callers skip key
/// policies; the gateway's own traffic (shadow copies) is master with its own <c>KeyId</c> for the ledger.
/// </summary>
public sealed record Caller(string? KeyId, string? TeamId, bool IsMaster)
{
    public static readonly Caller Master = new(null, null, IsMaster: true) { Admin = AdminAccess.Full };

    /// <summary>How much of the admin API the caller may use: the master key and <c>admin</c> keys all of it.</summary>
    public AdminAccess Admin { get; init; }

    /// <summary>The guardrail policies the key names (docs/guardrails.md); null when it names none.</summary>
    public IReadOnlyList<string>? Guardrails { get; init; }

    /// <summary>A key with the <c>evaluation</c> scope: compare traffic, to be kept apart from production health.</summary>
    public bool IsEvaluation { get; init; }
}

public enum AdminAccess
{
    None,
    /// <summary>GET routes only (<c>admin:read</c>).</summary>
    Read,
    Full,
}

/// <summary>
/// Per-request state that flows through the pipeline, whatever the kind of call (chat, embeddings); stages record
/// what they did on it. Each kind adds its request (<see cref="ChatContext"/>, <see cref="EmbeddingContext"/>).
/// </summary>
public abstract class CallContext(string requestId, string endpoint, ResolvedModel model, Caller caller, long startTimestamp)
{
    public string RequestId { get; } = requestId;
    /// <summary>The inbound route, e.g. <c>/v1/chat/completions</c>.</summary>
    public string Endpoint { get; } = endpoint;
    public ResolvedModel Model { get; } = model;
    public Caller Caller { get; } = caller;
    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the request arrived.</summary>
    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>Whether the answer is streamed (for the ledger row and timeout messages).</summary>
    public abstract bool Stream { get; }

    /// <summary>The caller's own, shorter time limit for the answer (<c>x-sanjia-timeout</c>), if any.</summary>
    public abstract TimeSpan? RequestedTimeout { get; }

    /// <summary>The deployment that answered (or failed last): the one record of it (responses do not carry it).</summary>
    public Deployment? Deployment { get; set; }
    public int Attempts { get; set; }
    public int Fallbacks { get; set; }
    /// <summary>Attempts on a deployment this request had already tried.</summary>
    public int Retries { get; set; }
    /// <summary>Every deployment the router tried or skipped, in order, with what happened.</summary>
    public List<RouteStep> Route { get; } = [];

    private bool? _inRolloutShare;

    /// <summary>
    /// Whether this request is in its alias's rollout share (docs/routing.md, "Gradual rollouts"): drawn once, by the
    /// first stage that asks, so that the response cache (which keys the candidate's answers apart from the
    /// incumbent's) and the router (which then sends the request to the candidate first, or not) agree.
    /// </summary>
    internal bool InRolloutShare(Models.RolloutRoute rollout, Routing.IRandomSource random) =>
        _inRolloutShare ??= rollout.Percent > 0 && random.NextDouble() * 100 < rollout.Percent;

    /// <summary>
    /// Failed attempts that had consumed upstream tokens (the upstream started producing, or reported usage with its
    /// error). Metering writes one ledger row for each and budgets charge them; attempts that consumed nothing are not here.
    /// </summary>
    public List<ConsumedAttempt> ConsumedAttempts { get; } = [];

    /// <summary>
    /// The cost of the request's own ledger row, as metering priced it (null when metering has no prices): set when a
    /// complete answer is recorded, and for a stream when its usage chunk passes and again when it ends. What the
    /// client is told (<c>x-sanjia-cost</c>, <c>usage.cost</c>) comes from here, so it is what the ledger holds.
    /// </summary>
    public Cost? Cost { get; set; }

    /// <summary>
    /// The cost of a usage on a deployment, for the ledger row and the budget: tokens at the deployment's price,
    /// unless the kind prices otherwise (images: per image, <see cref="ImageContext"/>).
    /// </summary>
    public virtual Cost CostOf(Pricing.Pricer pricer, Deployment? deployment, TokenUsage usage, DateTimeOffset? at = null) => pricer.CostOf(deployment, usage, at);

    /// <summary>What the response cache did (the <c>x-sanjia-cache</c> header); <see cref="Caching.CacheStatus.None"/> when it does not apply.</summary>
    public Caching.CacheStatus CacheStatus { get; set; }

    /// <summary>Set when the answer came from the response cache: metering's zero-cost row, budgets' release.</summary>
    public Caching.CacheHit? CacheHit { get; set; }

    /// <summary>The caller's rate limits as admission left them, for the <c>x-ratelimit-*</c> headers (null: no limit applies).</summary>
    public Budgets.RateLimitStatus? RateLimits { get; set; }

    /// <summary>
    /// What the guardrails decided on this request, in order, each once (rule ids and actions, never the matched text):
    /// for its ledger row, its span and the decision counter. Null when no rule matched, or no policy applied.
    /// </summary>
    public GuardrailDecision[]? Guardrails { get; private set; }

    /// <summary>
    /// The names of the guardrail policies that applied to this call, in order, joined by <c>,</c> (set by the guardrail
    /// stage; null when none did): the response cache keys its entries by them, so an answer is only served to calls
    /// checked and redacted by the same policies (docs/caching.md).
    /// </summary>
    public string? GuardrailPolicies { get; internal set; }

    /// <summary>
    /// Records a guardrail decision (the guardrail stage calls it, for the input and for the answer). A new array each
    /// time: a ledger row built from the previous one (a stream's in-flight line) never sees it change; a request has
    /// a handful of decisions at most, and one without any allocates nothing.
    /// </summary>
    internal void NoteGuardrail(GuardrailDecision decision)
    {
        if (Guardrails is { } known)
        {
            if (Array.IndexOf(known, decision) >= 0) return;
            Guardrails = [.. known, decision];
        }
        else
        {
            Guardrails = [decision];
        }
        Telemetry.GuardrailTelemetry.Decided(this, decision);
    }

    /// <summary>
    /// The HTTP layer's span of this request when one is being recorded (taken when metering starts), which metering
    /// gives the GenAI and <c>sanjia.*</c> attributes (<see cref="Telemetry.GatewayTelemetry"/>); null otherwise.
    /// </summary>
    public System.Diagnostics.Activity? ServerSpan { get; set; }
}

/// <summary>A chat request on its way through the pipeline.</summary>
public sealed class ChatContext(string requestId, string endpoint, ChatRequest request, ResolvedModel model, Caller caller, long startTimestamp)
    : CallContext(requestId, endpoint, model, caller, startTimestamp)
{
    private int _promptTokens = -1;

    /// <summary>The request; the guardrail stage replaces it with its redacted form, which is what the stages inside it see.</summary>
    public ChatRequest Request { get; internal set; } = request;

    public override bool Stream => Request.Stream;

    public override TimeSpan? RequestedTimeout => Request.RequestedTimeout;

    /// <summary>
    /// The prompt's o200k token estimate (<see cref="Tokens.TokenCounter.CountPrompt"/>), counted when first asked
    /// for and kept: budgets and the router both need it, and counting costs a pass over the prompt text.
    /// </summary>
    public int PromptTokens => _promptTokens >= 0 ? _promptTokens : _promptTokens = Tokens.TokenCounter.CountPrompt(Request.PromptText);
}

/// <summary>An embeddings request on its way through the pipeline.</summary>
public sealed class EmbeddingContext(string requestId, string endpoint, EmbeddingRequest request, ResolvedModel model, Caller caller, long startTimestamp)
    : CallContext(requestId, endpoint, model, caller, startTimestamp)
{
    private int _inputTokens = -1;

    /// <summary>The request; the guardrail stage replaces it with its redacted form.</summary>
    public EmbeddingRequest Request { get; internal set; } = request;

    public override bool Stream => false;

    public override TimeSpan? RequestedTimeout => Request.RequestedTimeout;

    /// <summary>The inputs' o200k token count, counted when first asked for and kept (budget hold, usage estimate, routing).</summary>
    public int InputTokens
    {
        get
        {
            if (_inputTokens < 0)
            {
                var n = 0;
                foreach (var input in Request.Inputs) n += Tokens.TokenCounter.Count(input);
                _inputTokens = n;
            }
            return _inputTokens;
        }
    }
}

/// <summary>One failed attempt that cost tokens: its number within the request, where it went, what it used and how it failed.</summary>
public sealed record ConsumedAttempt(int Attempt, Deployment Deployment, TokenUsage Usage, GatewayError Error, TimeSpan Latency);

/// <summary>One step of a request's route, e.g. <c>a/m1</c> with outcome <c>503</c>, <c>ok</c> or <c>open</c>.</summary>
public readonly record struct RouteStep(string Deployment, string Outcome)
{
    public override string ToString() => $"{Deployment}({Outcome})";
}
