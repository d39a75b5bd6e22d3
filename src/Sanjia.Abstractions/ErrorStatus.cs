namespace Sanjia.Abstractions;

/// <summary>The one place a <see cref="GatewayError"/> becomes an HTTP status code.</summary>
public static class ErrorStatus
{
    public static int For(GatewayError error) => error.Kind switch
    {
        GatewayErrorKind.InvalidRequest => 400,
        GatewayErrorKind.Authentication => 401,
        GatewayErrorKind.PermissionDenied => 403,
        GatewayErrorKind.ModelNotFound => 404,
        GatewayErrorKind.PayloadTooLarge => 413,
        GatewayErrorKind.HeadersTooLarge => 431,
        GatewayErrorKind.UriTooLong => 414,
        GatewayErrorKind.RateLimited or GatewayErrorKind.BudgetExceeded or GatewayErrorKind.Overloaded => 429,
        GatewayErrorKind.UpstreamRejected => error.UpstreamStatus is >= 400 and < 500 ? error.UpstreamStatus.Value : 400,
        GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable => 502,
        GatewayErrorKind.UpstreamTimeout => 504,
        GatewayErrorKind.UpstreamOverloaded => 503,
        GatewayErrorKind.Unavailable => 503,
        _ => 500,
    };

    /// <summary>Anthropic's protocol has its own status for overload, 529 <c>overloaded_error</c>; the rest is shared.</summary>
    public static int ForAnthropic(GatewayError error) => error.Kind == GatewayErrorKind.UpstreamOverloaded ? 529 : For(error);
}
