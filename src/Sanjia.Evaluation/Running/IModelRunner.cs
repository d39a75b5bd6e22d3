using System.Text.Json.Nodes;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Running;

/// <summary>What one model call cost and took. Cost is null when the gateway did not price the call.</summary>
public sealed record ModelCall
{
    public required string Model { get; init; }
    public string Text { get; init; } = "";
    public int InputTokens { get; init; }
    public int OutputTokens { get; init; }
    public double LatencyMs { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    public decimal? Cost { get; init; }
    public string? Currency { get; init; }

    /// <summary>The answer's <c>usage</c> carried the gateway's <c>cost</c> field (a null cost then means unpriced, not unknown).</summary>
    public bool CostReported { get; init; }

    /// <summary>Which deployment answered (the gateway's <c>x-sanjia-deployment</c> header), when known.</summary>
    public string? Deployment { get; init; }

    /// <summary>Set when the call failed: HTTP status (0 for a transport failure) and the gateway's message.</summary>
    public int? ErrorStatus { get; init; }

    /// <summary>The gateway's machine-readable error code (<c>budget_exceeded</c>, <c>model_not_found</c> ...), when it sent one.</summary>
    public string? ErrorCode { get; init; }
    public string? Error { get; init; }

    /// <summary>Upstream attempts behind this answer (the gateway's <c>x-sanjia-attempts</c>), 1 when not said.</summary>
    public int Attempts { get; init; } = 1;

    public bool Failed => Error is not null;
}

/// <summary>A chat request for one case: its messages plus the suite's request defaults (max_tokens, temperature...).</summary>
public sealed record ModelRequest(string Model, IReadOnlyList<EvalMessage> Messages, JsonObject? Fields = null);

/// <summary>
/// How the evaluator reaches models. The default, <see cref="GatewayModelRunner"/>, calls the gateway over HTTP so
/// routing, budgets, cost and latency are the real ones; tests and decorators (e.g. a price list) wrap it.
/// Expected failures (HTTP errors, refused connections) come back as a <see cref="ModelCall"/> with an error, not
/// as exceptions; only cancellation throws.
/// </summary>
public interface IModelRunner
{
    Task<ModelCall> ChatAsync(ModelRequest request, CancellationToken cancellationToken);

    /// <summary>One vector per input, in order; an error text instead when the call failed.</summary>
    Task<(IReadOnlyList<float[]>? Vectors, string? Error)> EmbedAsync(string model, IReadOnlyList<string> inputs, CancellationToken cancellationToken);
}
