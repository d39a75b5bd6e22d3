using Sanjia.Abstractions;
using Sanjia.Core.Alerts;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;

namespace Sanjia.Hosting;

/// <summary>Budget alerts (<c>Sanjia:Alerts</c>): the background check and its webhooks, on the host's alert store.</summary>
internal static class AlertsSetup
{
    public static IServiceCollection AddBudgetAlerts(this IServiceCollection services, SanjiaOptions options)
    {
        if (!options.Alerts.Enabled) return services;
        services.AddSingleton(sp => new WebhookSender(options.Alerts, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new BudgetAlerts(sp.GetRequiredService<VirtualKeyCache>(), sp.GetRequiredService<IBudgetTracker>(),
            sp.GetRequiredService<IAlertStore>(), options.Alerts, sp.GetRequiredService<WebhookSender>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BudgetAlerts>>(), options.Metrics.MaxKeyLabels));
        services.AddHostedService(sp => sp.GetRequiredService<BudgetAlerts>());
        return services;
    }
}
