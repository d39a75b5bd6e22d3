using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Core.Routing;

/// <summary>The timeouts of one attempt: deployment overrides over routing defaults, then the caller's header.</summary>
public readonly record struct AttemptTimeouts(TimeSpan FirstToken, TimeSpan StreamIdle, TimeSpan? Total, bool ShortenedByCaller)
{
    public static AttemptTimeouts For(RouteTimeoutOptions o, DeploymentSettings d, TimeSpan? requested)
    {
        var firstToken = TimeSpan.FromSeconds(d.FirstTokenSeconds ?? o.FirstTokenSeconds);
        var shortened = false;
        if (requested is { } r)
        {
            var clamped = TimeSpan.FromSeconds(Math.Clamp(r.TotalSeconds, o.MinRequestOverrideSeconds, o.MaxRequestOverrideSeconds));
            shortened = clamped < firstToken;
            firstToken = clamped;
        }
        var total = d.TotalSeconds ?? o.TotalSeconds;
        return new AttemptTimeouts(firstToken, TimeSpan.FromSeconds(d.StreamIdleSeconds ?? o.StreamIdleSeconds),
            total is > 0 ? TimeSpan.FromSeconds(total.Value) : null, shortened);
    }
}
