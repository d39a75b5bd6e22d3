using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Traffic;

namespace Sanjia.Api.Admin;

/// <summary>The admin routes that watch the gateway: the request log, the console's aggregates, the audit log and budget alerts (docs/admin-api.md).</summary>
public static class ObservabilityRoutes
{
    public static void Map(RouteGroupBuilder admin)
    {
        var s = ((IEndpointRouteBuilder)admin).ServiceProvider;
        var options = s.GetRequiredService<SanjiaOptions>();
        var ledger = s.GetService<JournaledLedger>();
        if (s.GetService<ILedgerStore>() is ILedgerQuery query)
        {
            // Bodies only where they are logged: with Sanjia:Logging:Bodies off the store holds none to show.
            var bodies = options.Logging.Bodies ? s.GetService<IBodyLogStore>() : null;
            admin.MapGet(RequestsEndpoint.Route, new RequestsEndpoint(query, ledger, bodies).HandleAsync);
        }
        if (s.GetService<ISpendSource>() is { } rows)
        {
            var stats = new StatsEndpoints(rows, ledger, s.GetRequiredService<TimeProvider>());
            admin.MapGet(StatsEndpoints.Route + "/overview", stats.OverviewAsync);
            admin.MapGet(StatsEndpoints.Route + "/usage", stats.UsageAsync);
            admin.MapGet(StatsEndpoints.Route + "/sla", stats.SlaAsync);
            admin.MapGet(StatsEndpoints.Route + "/guardrails", stats.GuardrailsAsync);
        }
        if (s.GetService<IAuditStore>() is { } auditStore)
        {
            var audit = new AdminAudit(auditStore, s.GetRequiredService<TimeProvider>());
            audit.Apply(admin);
            admin.MapGet("/admin/audit", audit.ListAsync);
        }
        if (s.GetService<IAlertStore>() is { } alerts)
        {
            admin.MapGet(AlertsEndpoint.Route, new AlertsEndpoint(alerts).ListAsync);
        }
    }
}
