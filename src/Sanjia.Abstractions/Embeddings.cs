namespace Sanjia.Abstractions;

public sealed class EmbeddingRequest
{
    public required ReadOnlyMemory<byte> Body { get; init; }
    public required string Model { get; init; }
    public required IReadOnlyList<string> Inputs { get; init; }
    /// <summary>True when the input was token arrays rather than strings (only pass-through backends accept those).</summary>
    public bool InputIsTokens { get; init; }
    public bool Base64 { get; init; }
    public int? Dimensions { get; init; }
    /// <summary>
    /// The caller's own per-attempt timeout (the <c>x-sanjia-timeout</c> header), clamped by the router to configured
    /// bounds as for a chat; it covers the whole answer, as for a chat that is not streamed.
    /// </summary>
    public TimeSpan? RequestedTimeout { get; set; }
}

public sealed record EmbeddingCall(EmbeddingRequest Request, string UpstreamModel, string RequestId);

/// <summary>Either a ready OpenAI <c>list</c> body (pass-through) or vectors the HTTP layer serialises.</summary>
public sealed class EmbeddingResult
{
    public ReadOnlyMemory<byte>? Body { get; init; }
    public IReadOnlyList<float[]>? Vectors { get; init; }
    public TokenUsage Usage { get; init; }
}

public readonly struct EmbeddingOutcome
{
    private EmbeddingOutcome(EmbeddingResult? result, GatewayError? error) { Result = result; Error = error; }
    public EmbeddingResult? Result { get; }
    public GatewayError? Error { get; }
    public static implicit operator EmbeddingOutcome(EmbeddingResult r) => new(r, null);
    public static implicit operator EmbeddingOutcome(GatewayError e) => new(null, e);
}

public interface IEmbeddingBackend
{
    string Description { get; }
    ValueTask<EmbeddingOutcome> EmbedAsync(EmbeddingCall call, CancellationToken cancellationToken);
}
