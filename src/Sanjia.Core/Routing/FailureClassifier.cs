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
    /// <summary>A transient failure (5xx, unreachable, timeout, 429): try another, and this one again after a backoff.</summary>
    Retry,
}

/// <summary>The one place that decides which errors fall back and which retry.</summary>
public static class FailureClassifier
{
    public const string ContextLengthExceeded = "context_length_exceeded";
    public const string ContentFilter = "content_filter";

    public static FailureAction Classify(GatewayError error, RoutingOptions options) => error switch
    {
        { Code: ContextLengthExceeded } => FailureAction.NextDeployment,
        { Code: ContentFilter } => options.FallbackOnContentFilter ? FailureAction.NextDeployment : FailureAction.Return,
        { Code: "upstream_authentication_failed" } => FailureAction.NextDeployment,
        { Kind: GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable or GatewayErrorKind.UpstreamTimeout
            or GatewayErrorKind.RateLimited or GatewayErrorKind.Overloaded or GatewayErrorKind.UpstreamOverloaded } => FailureAction.Retry,
        _ => FailureAction.Return,
    };

    /// <summary>Does this failure say something about the deployment's health (for its breaker)?</summary>
    public static bool CountsAgainstDeployment(GatewayError error) =>
        error.Kind is GatewayErrorKind.UpstreamFailed or GatewayErrorKind.UpstreamUnreachable or GatewayErrorKind.UpstreamTimeout
            or GatewayErrorKind.RateLimited or GatewayErrorKind.UpstreamOverloaded;

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
