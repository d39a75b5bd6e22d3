namespace Sanjia.Abstractions;

/// <summary>What went wrong, independent of any wire protocol. The HTTP layer maps it to a status and a body in one place.</summary>
public enum GatewayErrorKind
{
    InvalidRequest,
    Authentication,
    PermissionDenied,
    ModelNotFound,
    PayloadTooLarge,
    /// <summary>The request's headers are over the gateway's limit (431).</summary>
    HeadersTooLarge,
    /// <summary>The request target (path and query) is over the gateway's limit (414).</summary>
    UriTooLong,
    RateLimited,
    BudgetExceeded,
    /// <summary>The gateway itself has no deployment free to take the request (all busy or cooling down).</summary>
    Overloaded,
    /// <summary>
    /// The upstream said it is overloaded (Anthropic 529 <c>overloaded_error</c>, Gemini 503 <c>UNAVAILABLE</c>): a
    /// server-side condition, not the caller's rate limit, so it is reported as such (503; 529 in Anthropic's protocol).
    /// </summary>
    UpstreamOverloaded,
    /// <summary>The upstream answered with an error that is meaningful to the caller (4xx other than auth).</summary>
    UpstreamRejected,
    /// <summary>The upstream failed (5xx, auth misconfiguration, malformed answer).</summary>
    UpstreamFailed,
    UpstreamUnreachable,
    UpstreamTimeout,
    /// <summary>The gateway itself cannot serve now (it is shutting down).</summary>
    Unavailable,
    Internal,
}

/// <summary>An expected failure, carried as a value rather than thrown.</summary>
public sealed record GatewayError(GatewayErrorKind Kind, string Message)
{
    /// <summary>The request field at fault, if any (OpenAI's <c>param</c>).</summary>
    public string? Param { get; init; }

    /// <summary>A machine-readable code such as <c>model_not_found</c>.</summary>
    public string? Code { get; init; }

    /// <summary>The upstream's HTTP status, when the error came from an upstream.</summary>
    public int? UpstreamStatus { get; init; }

    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Tokens the upstream consumed before failing (reported in its error body, or counted from a partial answer).</summary>
    public TokenUsage? Usage { get; init; }

    public static GatewayError Invalid(string message, string? param = null, string? code = null) =>
        new(GatewayErrorKind.InvalidRequest, message) { Param = param, Code = code ?? "invalid_request" };

    public static GatewayError ModelNotFound(string model) =>
        new(GatewayErrorKind.ModelNotFound, $"The model '{model}' does not exist or is not served by this gateway.")
        { Param = "model", Code = "model_not_found" };

    public static GatewayError Unsupported(string param, string backend) =>
        new(GatewayErrorKind.InvalidRequest, $"The parameter '{param}' is not supported by {backend}.")
        { Param = param, Code = "unsupported_parameter" };
}

/// <summary>Thrown only to cross an API that cannot return a value (e.g. inside an async stream); caught and mapped.</summary>
public sealed class GatewayException(GatewayError error) : Exception(error.Message)
{
    public GatewayError Error { get; } = error;
}
