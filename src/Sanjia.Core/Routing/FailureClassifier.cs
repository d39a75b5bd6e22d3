using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Routing;

/// <summary>What the router does after a failed attempt.</summary>
public enum FailureAction
{
    /// <summary>A client error another deployment would repeat: answer the caller with it.</summary>
    Return,
    /// <summary>This deployment cannot serve the request (context too long, content filter, credentials): try another, not this one again.</summary>
    NextDeployment,
    /// <summary>A transient failure (5xx, unreachable, timeout, 429, overloaded): try another, and this one again after a backoff.</summary>
    Retry,
}

/// <summary>
/// The one place that decides which errors fall back and which retry, and which upstream refusals mean "the prompt
/// does not fit this model" or "the content filter refused it" (<see cref="RejectionCode"/>, used by every adapter).
/// </summary>
public static class FailureClassifier
{
    public const string ContextLengthExceeded = UpstreamErrorCodes.ContextLengthExceeded;
    public const string ContentFilter = UpstreamErrorCodes.ContentFilter;

    /// <summary>
    /// Decides on the <see cref="UpstreamErrorCodes"/> the providers set (through <c>Sanjia.Core.Upstream.UpstreamErrors</c>);
    /// an error without one of them (the gateway's own, an unknown code) is judged by its kind.
    /// </summary>
    public static FailureAction Classify(GatewayError error, RoutingOptions options) => error.Code switch
    {
        UpstreamErrorCodes.ContextLengthExceeded or UpstreamErrorCodes.AuthenticationFailed => FailureAction.NextDeployment,
        UpstreamErrorCodes.ContentFilter => options.FallbackOnContentFilter ? FailureAction.NextDeployment : FailureAction.Return,
        UpstreamErrorCodes.Rejected => FailureAction.Return,
        UpstreamErrorCodes.RateLimited or UpstreamErrorCodes.Overloaded or UpstreamErrorCodes.ModelOverloaded or UpstreamErrorCodes.Error
            or UpstreamErrorCodes.Timeout or UpstreamErrorCodes.Unreachable or UpstreamErrorCodes.StreamInterrupted
            or UpstreamErrorCodes.MalformedChunk or UpstreamErrorCodes.ProtocolError
            or UpstreamErrorCodes.ModelLoadFailed or UpstreamErrorCodes.LocalGenerationFailed or UpstreamErrorCodes.LocalDecodeFailed or UpstreamErrorCodes.LocalEmbeddingFailed => FailureAction.Retry,
        _ => error.Kind is GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable or GatewayErrorKind.UpstreamTimeout
            or GatewayErrorKind.RateLimited or GatewayErrorKind.Overloaded or GatewayErrorKind.UpstreamOverloaded ? FailureAction.Retry : FailureAction.Return,
    };

    /// <summary>Does this failure say the deployment's model is not there (the vendor's 404, a local model not loaded from disk)?</summary>
    public static bool IsModelMissing(GatewayError error) => error.Kind == GatewayErrorKind.ModelNotFound || error.UpstreamStatus == 404;

    /// <summary>Does this failure say something about the deployment's health (for its breaker)?</summary>
    public static bool CountsAgainstDeployment(GatewayError error) =>
        error.Kind is GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable or GatewayErrorKind.UpstreamTimeout
            or GatewayErrorKind.RateLimited or GatewayErrorKind.UpstreamOverloaded;

    /// <summary>
    /// The code for an upstream 4xx that is not about credentials or rate: <see cref="ContextLengthExceeded"/> when the
    /// vendor says the prompt is over the model's window, <see cref="ContentFilter"/> for a content-filter refusal, else
    /// <see cref="UpstreamErrorCodes.Rejected"/>. <paramref name="upstreamCode"/> is the vendor's own error code
    /// (<c>error.code</c>, or Anthropic's <c>error.type</c>), <paramref name="message"/> its error message.
    /// </summary>
    public static string RejectionCode(string? upstreamCode, string message)
    {
        if (IsContextOverflow(upstreamCode, message)) return ContextLengthExceeded;
        if (upstreamCode is VendorCodes.ContentFilter or VendorCodes.ContentPolicyViolation
            || message.Contains("content management policy", StringComparison.OrdinalIgnoreCase))
        {
            return ContentFilter;
        }
        return UpstreamErrorCodes.Rejected;
    }

    /// <summary>
    /// Each vendor's documented (or, where undocumented, observed and stable) wording for "the prompt does not fit":
    /// <list type="bullet">
    /// <item>OpenAI, Azure: code <c>context_length_exceeded</c> (or <c>string_above_max_length</c>), "This model's maximum context length is 8192 tokens…";
    /// DeepSeek, Mistral and vLLM use the same "maximum context length" sentence (DeepSeek with code <c>invalid_request_error</c>).</item>
    /// <item>Anthropic: 400 <c>invalid_request_error</c> "prompt is too long: 210000 tokens &gt; 200000 maximum".</item>
    /// <item>Gemini: 400 <c>INVALID_ARGUMENT</c> "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576)."</item>
    /// <item>Kimi (Moonshot): 400 <c>invalid_request_error</c> "Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)".</item>
    /// <item>Qwen (DashScope / Model Studio): 400 <c>InvalidParameter</c> "Range of input length should be [1, 30720]".</item>
    /// <item>GLM (Zhipu / Z.AI): 400 business code <c>1261</c> "Prompt exceeds max length".</item>
    /// <item>MiniMax: 400 "invalid params, context window exceeds limit (2013)".</item>
    /// <item>xAI: "This model's maximum prompt length is 131072 but the request contains 136973 tokens."</item>
    /// <item>llama.cpp server: <c>exceed_context_size_error</c> "the request exceeds the available context size".</item>
    /// </list>
    /// </summary>
    public static bool IsContextOverflow(string? upstreamCode, string message)
    {
        if (upstreamCode is VendorCodes.ContextLengthExceeded or VendorCodes.StringAboveMaxLength or VendorCodes.ExceedContextSize or VendorCodes.GlmPromptTooLong)
        {
            return true;
        }
        foreach (var phrase in ContextOverflowPhrases)
        {
            if (message.Contains(phrase, StringComparison.OrdinalIgnoreCase)) return true;
        }
        // Gemini: "The input token count (N) exceeds the maximum number of tokens allowed (M)."
        return message.Contains("token count", StringComparison.OrdinalIgnoreCase) && message.Contains("exceeds", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The vendors' own error codes (their <c>error.code</c> or <c>error.type</c>) that carry a meaning here.</summary>
    private static class VendorCodes
    {
        public const string ContextLengthExceeded = "context_length_exceeded";   // OpenAI, Azure
        public const string StringAboveMaxLength = "string_above_max_length";   // OpenAI
        public const string ExceedContextSize = "exceed_context_size_error";    // llama.cpp server
        public const string GlmPromptTooLong = "1261";                          // GLM (Zhipu) business code
        public const string ContentFilter = "content_filter";                    // Azure
        public const string ContentPolicyViolation = "content_policy_violation"; // OpenAI
    }

    private static readonly string[] ContextOverflowPhrases =
    [
        "context length",                // OpenAI, Azure, DeepSeek, Mistral, vLLM: "maximum context length is …"
        "context window",                // MiniMax "context window exceeds limit", generic wording
        "context size",                  // llama.cpp "exceeds the available context size"
        "prompt is too long",            // Anthropic
        "exceeded model token limit",    // Kimi / Moonshot
        "range of input length should be", // Qwen / DashScope
        "prompt exceeds max length",     // GLM / Zhipu (1261)
        "maximum prompt length",         // xAI
    ];

    /// <summary>A short label for the route header: the upstream status, else the kind of failure.</summary>
    public static string Label(GatewayError error) => error.UpstreamStatus is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : error.Code switch
        {
            ContextLengthExceeded => "context",
            _ => error.Kind switch
            {
                GatewayErrorKind.UpstreamTimeout => "timeout",
                GatewayErrorKind.UpstreamUnreachable => "unreachable",
                GatewayErrorKind.Overloaded => "busy",
                _ => "error",
            },
        };
}
