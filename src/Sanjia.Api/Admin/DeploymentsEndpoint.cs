using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing.Health;
using Sanjia.Core.Json;

namespace Sanjia.Api.Admin;

/// <summary>
/// <c>GET /admin/deployments</c>: every deployment behind an alias with its live state: breaker, cool-down, requests
/// in flight, latency moving average, counts and last error. Read access as every admin read (the master key, an
/// <c>admin</c> or <c>admin:read</c> key, or a console session of one), checked by authentication before this runs.
/// </summary>
public sealed class DeploymentsEndpoint(GatewayEngine engine, DeploymentStateStore states)
{
    public const string Route = "/admin/deployments";

    public async Task HandleAsync(HttpContext http)
    {
        var byId = new Dictionary<string, (Core.Models.Deployment Deployment, List<string> Aliases)>(StringComparer.OrdinalIgnoreCase);
        foreach (var alias in engine.Registry.Aliases.OrderBy(a => a.RequestedId, StringComparer.Ordinal))
        {
            foreach (var d in alias.Deployments)
            {
                if (!byId.TryGetValue(d.Id, out var entry)) byId[d.Id] = entry = (d, []);
                entry.Aliases.Add(alias.RequestedId);
            }
        }
        http.Response.ContentType = "application/json";
        await using var w = new Utf8JsonWriter(http.Response.Body, SanjiaJson.Writer);
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        foreach (var (id, (deployment, aliases)) in byId.OrderBy(x => x.Key, StringComparer.Ordinal))
        {
            var s = states.Get(deployment);
            var breaker = s.Breaker.State;
            var cooling = s.CoolingUntil;
            w.WriteStartObject();
            w.WriteString("id"u8, id);
            w.WriteStartArray("aliases"u8);
            foreach (var a in aliases) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteString("state"u8, breaker switch
            {
                BreakerState.Open => "ejected",
                BreakerState.HalfOpen => "probing",
                _ => cooling is not null ? "cooling_down" : "healthy",
            });
            w.WriteString("breaker"u8, breaker switch { BreakerState.Open => "open", BreakerState.HalfOpen => "half_open", _ => "closed" });
            if (s.Breaker.OpenUntil is { } until) w.WriteString("open_until"u8, until); else w.WriteNull("open_until"u8);
            if (cooling is { } c) w.WriteString("cooling_until"u8, c); else w.WriteNull("cooling_until"u8);
            w.WriteNumber("consecutive_failures"u8, s.Breaker.ConsecutiveFailures);
            w.WriteNumber("in_flight"u8, s.InFlight);
            if (deployment.Settings.MaxConcurrentRequests is { } max) w.WriteNumber("max_concurrent_requests"u8, max); else w.WriteNull("max_concurrent_requests"u8);
            if (s.LatencyEwmaMs is { } l) w.WriteNumber("latency_ewma_ms"u8, Math.Round(l, 1)); else w.WriteNull("latency_ewma_ms"u8);
            w.WriteNumber("requests"u8, s.Requests);
            w.WriteNumber("failures"u8, s.Failures);
            if (s.LastError is { } e) w.WriteString("last_error"u8, e); else w.WriteNull("last_error"u8);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}
