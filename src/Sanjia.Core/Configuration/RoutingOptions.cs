namespace Sanjia.Core.Configuration;

/// <summary>
/// How the gateway routes around failure (<c>Sanjia:Routing</c>): the default strategy, the one attempt budget per
/// request, deployment health and timeouts. See docs/routing.md.
/// </summary>
public sealed class RoutingOptions
{
    /// <summary>The strategy of aliases that name none: <c>priority</c>, <c>weighted</c>, <c>least-busy</c>, <c>lowest-latency</c>, <c>lowest-cost</c>, <c>power-of-two</c>.</summary>
    public string DefaultStrategy { get; set; } = "priority";

    /// <summary>Fall back to the next deployment when an upstream refuses a prompt by its content filter.</summary>
    public bool FallbackOnContentFilter { get; set; }

    /// <summary>Let an upstream stream finish (and be metered in full) after the client disconnected, instead of cancelling it.</summary>
    public bool CompleteOnClientDisconnect { get; set; }

    public RetryOptions Retry { get; set; } = new();

    public HealthOptions Health { get; set; } = new();

    public RouteTimeoutOptions Timeouts { get; set; } = new();

    /// <summary>How often a running gradual rollout is judged against the ledger (docs/routing.md, "Gradual rollouts").</summary>
    public double RolloutIntervalSeconds { get; set; } = 5;
}

/// <summary>One attempt budget per request, shared by fallbacks and retries (no stacked retry layers).</summary>
public sealed class RetryOptions
{
    /// <summary>Upstream calls one request may make in total, fallbacks included.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>The first pause before a deployment that already failed this request is tried again; doubles each round.</summary>
    public double BaseDelaySeconds { get; set; } = 0.25;

    public double MaxDelaySeconds { get; set; } = 8;

    /// <summary>A <c>Retry-After</c> longer than this is not waited for: the request fails with it passed on to the client.</summary>
    public double MaxRetryAfterSeconds { get; set; } = 10;
}

/// <summary>Per-deployment circuit breaker and health checks.</summary>
public sealed class HealthOptions
{
    /// <summary>Consecutive failures that open the breaker.</summary>
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>Failure ratio over <see cref="WindowSeconds"/> that ejects a deployment (once <see cref="MinimumRequests"/> were seen).</summary>
    public double ErrorRateThreshold { get; set; } = 0.5;

    public int MinimumRequests { get; set; } = 10;

    public double WindowSeconds { get; set; } = 30;

    /// <summary>How long an open breaker keeps the deployment out before a half-open probe.</summary>
    public double BreakSeconds { get; set; } = 30;

    /// <summary>Send a cheap request to every deployment periodically (off by default: it costs tokens).</summary>
    public bool ActiveChecks { get; set; }

    public double ActiveCheckIntervalSeconds { get; set; } = 60;
}

/// <summary>Timeouts the router applies to each attempt; a deployment can override any of them.</summary>
public sealed class RouteTimeoutOptions
{
    /// <summary>Until the first stream chunk (streams) or the whole answer (non-streaming).</summary>
    public double FirstTokenSeconds { get; set; } = 120;

    /// <summary>Longest silence between two stream chunks.</summary>
    public double StreamIdleSeconds { get; set; } = 120;

    /// <summary>Cuts a stream this long after it started even if it keeps producing; empty (the default) = never.</summary>
    public double? TotalSeconds { get; set; }

    /// <summary>Bounds of the per-request <c>x-sanjia-timeout</c> header (seconds), which overrides <see cref="FirstTokenSeconds"/>.</summary>
    public double MinRequestOverrideSeconds { get; set; } = 1;

    public double MaxRequestOverrideSeconds { get; set; } = 600;

    /// <summary>
    /// Provider name → the idle limit its deprecated <c>Sanjia:Providers:&lt;name&gt;:Timeouts:StreamIdleSeconds</c> set
    /// (<see cref="DeprecatedSettings"/>); it shortens the idle limit of that provider's deployments. Not a setting.
    /// </summary>
    internal Dictionary<string, double> ProviderStreamIdleSeconds { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Per-deployment timeout overrides (empty = the routing default).</summary>
public sealed class DeploymentTimeoutOptions
{
    public double? FirstTokenSeconds { get; set; }
    public double? StreamIdleSeconds { get; set; }
    public double? TotalSeconds { get; set; }
}
