using Sanjia.Abstractions;

namespace Sanjia.Core.Alerts;

/// <summary>Alerts kept in memory: for tests and for a gateway without a durable store (one instance, lost on restart).</summary>
public sealed class InMemoryAlertStore : IAlertStore
{
    private readonly Lock _lock = new();
    private readonly List<BudgetAlert> _alerts = [];

    public Task<bool> TryClaimAsync(BudgetAlert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        lock (_lock)
        {
            if (_alerts.Any(a => a.Id == alert.Id)) return Task.FromResult(false);
            _alerts.Add(alert);
            return Task.FromResult(true);
        }
    }

    public Task RecordDeliveryAsync(string id, string delivery, int attempts, string? lastError, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var i = _alerts.FindIndex(a => a.Id == id);
            if (i >= 0) _alerts[i] = _alerts[i] with { Delivery = delivery, Attempts = attempts, LastError = lastError };
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<BudgetAlert>> ListAsync(string? scopeId, int limit, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<BudgetAlert>>(
                [.. _alerts.Where(a => scopeId is null || a.ScopeId == scopeId).OrderByDescending(a => a.FiredAt).ThenByDescending(a => a.Percent).Take(limit)]);
        }
    }
}
