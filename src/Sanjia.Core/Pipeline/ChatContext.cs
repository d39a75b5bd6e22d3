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

/// <summary>Per-request state that flows through the chat pipeline; stages record what they did on it.</summary>
public sealed class ChatContext(string requestId, string endpoint, ChatRequest request, ResolvedModel model, Caller caller, long startTimestamp)
{
    public string RequestId { get; } = requestId;
    /// <summary>The inbound route, e.g. <c>/v1/chat/completions</c>.</summary>
    public string Endpoint { get; } = endpoint;
    public ChatRequest Request { get; } = request;
    public ResolvedModel Model { get; } = model;
    public Caller Caller { get; } = caller;
    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the request arrived.</summary>
    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>The deployment that answered (or failed last).</summary>
    public Deployment? Deployment { get; set; }
    public int Attempts { get; set; }
    public int Fallbacks { get; set; }
    /// <summary>Attempts on a deployment this request had already tried.</summary>
    public int Retries { get; set; }
    /// <summary>Every deployment the router tried or skipped, in order, with what happened.</summary>
    public List<RouteStep> Route { get; } = [];

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
}

/// <summary>One failed attempt that cost tokens: its number within the request, where it went, what it used and how it failed.</summary>
public sealed record ConsumedAttempt(int Attempt, Deployment Deployment, TokenUsage Usage, GatewayError Error, TimeSpan Latency);

/// <summary>One step of a request's route, e.g. <c>a/m1</c> with outcome <c>503</c>, <c>ok</c> or <c>open</c>.</summary>
public readonly record struct RouteStep(string Deployment, string Outcome)
{
    public override string ToString() => $"{Deployment}({Outcome})";
}
