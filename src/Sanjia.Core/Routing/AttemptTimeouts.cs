using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Core.Routing;

/// <summary>
/// The timeouts of one attempt: deployment overrides over routing defaults, then the caller's header. These are the
/// only timeouts of a stream once its headers arrived; a provider's own (<c>Sanjia:Timeouts</c>) end at the headers.
/// </summary>
public readonly record struct AttemptTimeouts(TimeSpan FirstToken, TimeSpan StreamIdle, TimeSpan? Total, bool ShortenedByCaller)
{
    /// <param name="provider">The deployment's provider, for the idle limit a deprecated provider setting shortens.</param>
    public static AttemptTimeouts For(RouteTimeoutOptions o, DeploymentSettings d, TimeSpan? requested, string? provider = null)
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
        var idle = d.StreamIdleSeconds ?? o.StreamIdleSeconds;
        // Empty unless a deprecated setting is in use: one count check per attempt otherwise.
        if (o.ProviderStreamIdleSeconds.Count > 0 && provider is not null && o.ProviderStreamIdleSeconds.TryGetValue(provider, out var legacy))
        {
            idle = Math.Min(idle, legacy);
        }
        return new AttemptTimeouts(firstToken, TimeSpan.FromSeconds(idle), total is > 0 ? TimeSpan.FromSeconds(total.Value) : null, shortened);
    }
}
