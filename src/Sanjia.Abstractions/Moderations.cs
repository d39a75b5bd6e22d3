namespace Sanjia.Abstractions;

/// <summary>
/// A moderation request in OpenAI's <c>POST /v1/moderations</c> format: the body (<c>model</c>, <c>input</c>), whose
/// model the backend replaces with its own name for it. Used by the guardrails' guard model (docs/guardrails.md).
/// </summary>
public sealed record ModerationCall(ReadOnlyMemory<byte> Body, string UpstreamModel, string RequestId);

/// <summary>The vendor's answer body (<c>results[].flagged</c>, <c>categories</c>, <c>category_scores</c>), or the error.</summary>
public readonly struct ModerationOutcome
{
    private ModerationOutcome(ReadOnlyMemory<byte>? body, GatewayError? error) { Body = body; Error = error; }
    public ReadOnlyMemory<byte>? Body { get; }
    public GatewayError? Error { get; }
    public static implicit operator ModerationOutcome(byte[] body) => new(body, null);
    public static implicit operator ModerationOutcome(GatewayError e) => new(null, e);
}

/// <summary>A provider's moderation endpoint (OpenAI's format), beside chat, embeddings and images.</summary>
public interface IModerationBackend
{
    ValueTask<ModerationOutcome> ModerateAsync(ModerationCall call, CancellationToken cancellationToken);
}
