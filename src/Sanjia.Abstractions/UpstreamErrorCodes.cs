namespace Sanjia.Abstractions;

/// <summary>
/// The <see cref="GatewayError.Code"/> values an upstream failure carries. Providers set them; the failure classifier
/// (<c>Sanjia.Core.Routing.FailureClassifier</c>) matches on them to decide between answering, failing over and
/// retrying, so both sides use these constants rather than string literals.
/// </summary>
public static class UpstreamErrorCodes
{
    /// <summary>429 from the upstream (quota, rate limit).</summary>
    public const string RateLimited = "upstream_rate_limited";

    /// <summary>The upstream says it is overloaded (Anthropic 529, Gemini 503 <c>UNAVAILABLE</c>).</summary>
    public const string Overloaded = "upstream_overloaded";

    /// <summary>The upstream refused the gateway's own credentials (401/403): a configuration fault, not the caller's.</summary>
    public const string AuthenticationFailed = "upstream_authentication_failed";

    /// <summary>5xx or 408, or an error reported inside an otherwise good response.</summary>
    public const string Error = "upstream_error";

    /// <summary>A 4xx the caller should see as is (another deployment would refuse it too).</summary>
    public const string Rejected = "upstream_rejected";

    /// <summary>No answer (or no first token) within the time allowed.</summary>
    public const string Timeout = "upstream_timeout";

    /// <summary>Connection refused, reset, DNS failure, TLS failure.</summary>
    public const string Unreachable = "upstream_unreachable";

    /// <summary>The stream broke off before its end.</summary>
    public const string StreamInterrupted = "upstream_stream_interrupted";

    /// <summary>A stream chunk that is not valid JSON.</summary>
    public const string MalformedChunk = "upstream_malformed_chunk";

    /// <summary>An answer in the wrong shape (not JSON, not an event stream).</summary>
    public const string ProtocolError = "upstream_protocol_error";

    /// <summary>The prompt (plus <c>max_tokens</c>) does not fit the model's context window: another deployment may take it.</summary>
    public const string ContextLengthExceeded = "context_length_exceeded";

    /// <summary>The upstream's content filter refused the prompt.</summary>
    public const string ContentFilter = "content_filter";

    /// <summary>A local model has every generation slot and queue place taken: try elsewhere, or here again shortly.</summary>
    public const string ModelOverloaded = "model_overloaded";

    /// <summary>A local model's weights could not be loaded: this deployment cannot serve it now.</summary>
    public const string ModelLoadFailed = "model_load_failed";

    /// <summary>A local generation failed to start or run.</summary>
    public const string LocalGenerationFailed = "local_generation_failed";

    /// <summary>A local model failed to evaluate its input (llama.cpp decode).</summary>
    public const string LocalDecodeFailed = "local_decode_failed";

    /// <summary>The local embedding model failed on the input.</summary>
    public const string LocalEmbeddingFailed = "local_embedding_failed";
}
