using Sanjia.Core.Configuration;

namespace Sanjia.Core.Routing;

/// <summary>Checks <c>Sanjia:Routing</c> and the routing fields of every alias, naming the exact path of each error.</summary>
public static class RoutingValidator
{
    private const string P = SanjiaOptions.Section;

    public static void Validate(SanjiaOptions options, IReadOnlyCollection<string> strategyNames, ConfigErrors errors)
    {
        var known = string.Join(", ", strategyNames.Order(StringComparer.Ordinal));
        var r = options.Routing;
        if (!strategyNames.Contains(r.DefaultStrategy, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{P}:Routing:DefaultStrategy", $"unknown strategy '{r.DefaultStrategy}' (known: {known}).");
        }
        if (r.RolloutIntervalSeconds <= 0) errors.Add($"{P}:Routing:RolloutIntervalSeconds", "must be positive.");
        if (r.Retry.MaxAttempts < 1) errors.Add($"{P}:Routing:Retry:MaxAttempts", "must be at least 1.");
        if (r.Retry.BaseDelaySeconds < 0) errors.Add($"{P}:Routing:Retry:BaseDelaySeconds", "must not be negative.");
        if (r.Retry.MaxDelaySeconds < r.Retry.BaseDelaySeconds) errors.Add($"{P}:Routing:Retry:MaxDelaySeconds", "must not be below BaseDelaySeconds.");
        if (r.Retry.MaxRetryAfterSeconds < 0) errors.Add($"{P}:Routing:Retry:MaxRetryAfterSeconds", "must not be negative.");
        var h = r.Health;
        if (h.ConsecutiveFailures < 1) errors.Add($"{P}:Routing:Health:ConsecutiveFailures", "must be at least 1.");
        if (h.ErrorRateThreshold is <= 0 or > 1) errors.Add($"{P}:Routing:Health:ErrorRateThreshold", "must be in (0, 1].");
        if (h.MinimumRequests < 1) errors.Add($"{P}:Routing:Health:MinimumRequests", "must be at least 1.");
        if (h.WindowSeconds <= 0) errors.Add($"{P}:Routing:Health:WindowSeconds", "must be positive.");
        if (h.BreakSeconds <= 0) errors.Add($"{P}:Routing:Health:BreakSeconds", "must be positive.");
        if (h.ActiveCheckIntervalSeconds < 1) errors.Add($"{P}:Routing:Health:ActiveCheckIntervalSeconds", "must be at least 1.");
        var t = r.Timeouts;
        if (t.FirstTokenSeconds <= 0) errors.Add($"{P}:Routing:Timeouts:FirstTokenSeconds", "must be positive.");
        if (t.StreamIdleSeconds <= 0) errors.Add($"{P}:Routing:Timeouts:StreamIdleSeconds", "must be positive.");
        if (t.TotalSeconds is < 0) errors.Add($"{P}:Routing:Timeouts:TotalSeconds", "must not be negative (leave it empty for no limit).");
        if (t.MinRequestOverrideSeconds <= 0) errors.Add($"{P}:Routing:Timeouts:MinRequestOverrideSeconds", "must be positive.");
        if (t.MaxRequestOverrideSeconds < t.MinRequestOverrideSeconds) errors.Add($"{P}:Routing:Timeouts:MaxRequestOverrideSeconds", "must not be below MinRequestOverrideSeconds.");

        foreach (var (alias, a) in options.Models)
        {
            var path = $"{P}:Models:{alias}";
            if (a.Strategy is { } s && !strategyNames.Contains(s, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{path}:Strategy", $"unknown strategy '{s}' (known: {known}).");
            }
            for (var i = 0; i < a.Deployments.Count; i++)
            {
                var d = a.Deployments[i];
                var dp = $"{path}:Deployments:{i}";
                if (d.Weight < 0 || double.IsNaN(d.Weight)) errors.Add($"{dp}:Weight", "must not be negative.");
                if (d.MaxConcurrentRequests is < 1) errors.Add($"{dp}:MaxConcurrentRequests", "must be at least 1 (leave it empty for no limit).");
                if (d.ContextWindow is < 1) errors.Add($"{dp}:ContextWindow", "must be a positive number of tokens.");
                if (d.InputPricePerMillion is < 0) errors.Add($"{dp}:InputPricePerMillion", "must not be negative.");
                if (d.OutputPricePerMillion is < 0) errors.Add($"{dp}:OutputPricePerMillion", "must not be negative.");
                if (d.Timeouts is { } dt)
                {
                    if (dt.FirstTokenSeconds is <= 0) errors.Add($"{dp}:Timeouts:FirstTokenSeconds", "must be positive.");
                    if (dt.StreamIdleSeconds is <= 0) errors.Add($"{dp}:Timeouts:StreamIdleSeconds", "must be positive.");
                    if (dt.TotalSeconds is < 0) errors.Add($"{dp}:Timeouts:TotalSeconds", "must not be negative.");
                }
            }
        }
    }
}
