using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Budgets;
using Sanjia.Core.Json;
using Sanjia.Core.Keys;
using Sanjia.Core.Telemetry;

namespace Sanjia.Core.Alerts;

/// <summary>
/// Budget alerts (docs/observability.md): every <see cref="AlertOptions.IntervalSeconds"/>, and at once after a
/// refusal for a budget, each key's and team's spend in its current period is compared with its thresholds
/// (<see cref="Budget.AlertAt"/>, else <see cref="AlertOptions.Percents"/>). A crossing is claimed in the shared
/// <see cref="IAlertStore"/> under an id made of (scope, id, threshold, period start, amount), so it fires once per
/// period and amount, by one instance, and not again after a restart; then it is posted to the webhooks in the
/// background. A budget changed in its period is watched afresh: its thresholds fire again on the new amount. When several
/// thresholds are crossed at once only the highest is sent (the others are recorded as <c>superseded</c>).
/// Nothing here runs on the request path; the one hook there (<see cref="Refused"/>) runs on a budget refusal only.
/// </summary>
public sealed partial class BudgetAlerts(
    VirtualKeyCache keys, IBudgetTracker budgets, IAlertStore store, AlertOptions options, WebhookSender sender, TimeProvider time,
    ILogger<BudgetAlerts> logger, int maxLabels) : BackgroundService
{
    public const string EventType = "budget.threshold_crossed";

    // Crossings known to be claimed (by this instance or another), for the budgets' current periods: the store is
    // asked only about new ones. Replaced after each check, so periods that ended drop out.
    private HashSet<string> _claimed = new(StringComparer.Ordinal);
    // Budgets whose check failed at the last check (logged once, when they start failing).
    private HashSet<string> _failing = new(StringComparer.Ordinal);
    // Budgets a request was refused for, with the start of the period it happened in.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _refused = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _deliveries = new();
    private readonly SemaphoreSlim _checking = new(1, 1);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Measurement<int>[] _levels = [];
    private IDisposable? _observed;

    /// <summary>
    /// Called by the budget policy when a request is refused because a budget cannot cover it: the budget counts as
    /// at 100 % (its last hold did not fit, so its spend may stay just under) and a check runs now.
    /// </summary>
    public void Refused(BudgetScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        _refused[ScopeKey(scope.Kind, scope.Id)] = BudgetWindow.For(scope.Budget.Period, time.GetUtcNow()).Start;
        Volatile.Read(ref _wake).TrySetResult();
    }

    /// <summary>The alerts this check claimed (their deliveries are started, not awaited: <see cref="DrainAsync"/>).</summary>
    public async Task<IReadOnlyList<BudgetAlert>> CheckAsync(CancellationToken cancellationToken)
    {
        await _checking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CheckOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _checking.Release();
        }
    }

    private async Task<IReadOnlyList<BudgetAlert>> CheckOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var fired = new List<(BudgetAlert Alert, string? Name, string? TeamId)>();
        var levels = new List<(decimal Ratio, Measurement<int> Level)>();
        var failing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (scope, name, teamId) in Scopes())
        {
            try
            {
                await CheckScopeAsync(scope, name, teamId, now, claimed, fired, levels, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // One budget that cannot be checked (a stored value out of range, a store error) must not silence the
                // others. Logged when it starts failing, not at every check.
                failing.Add(ScopeKey(scope.Kind, scope.Id));
                if (!_failing.Contains(ScopeKey(scope.Kind, scope.Id))) LogScopeFailed(logger, scope.Kind, scope.Id, ex);
            }
        }
        _failing = failing;
        _claimed = claimed;
        Volatile.Write(ref _levels, [.. levels.OrderByDescending(l => l.Ratio).Take(maxLabels).Select(l => l.Level)]);
        foreach (var (alert, name, teamId) in fired)
        {
            LogFired(logger, alert.Scope, alert.ScopeId, alert.Percent, alert.Used, alert.Limit, alert.Currency, alert.Reason);
            AlertMetrics.Count(alert);
            if (alert.Delivery == "pending") Track(DeliverAsync(alert, Payload(alert, name, teamId)));
        }
        return [.. fired.Select(f => f.Alert)];
    }

    private async Task CheckScopeAsync(BudgetScope scope, string? name, string? teamId, DateTimeOffset now, HashSet<string> claimed,
        List<(BudgetAlert Alert, string? Name, string? TeamId)> fired, List<(decimal Ratio, Measurement<int> Level)> levels, CancellationToken cancellationToken)
    {
        var budget = scope.Budget;
        var percents = budget.AlertAt ?? options.Percents;
        if (percents.Count == 0 || budget.Amount <= 0) return;
        var (start, _) = BudgetWindow.For(budget.Period, now);
        var (spent, _, resetsAt) = await budgets.StatusAsync(scope, cancellationToken).ConfigureAwait(false);
        var refused = _refused.TryGetValue(ScopeKey(scope.Kind, scope.Id), out var at) && at == start;
        var crossed = percents.Where(p => Reached(spent, budget.Amount, p) || (refused && p <= 100)).Distinct().Order().ToList();
        if (crossed.Count == 0) return;
        levels.Add((Share(spent, budget.Amount), new Measurement<int>(crossed[^1],
            new(GenAi.BudgetScope, scope.Kind), new(GenAi.BudgetId, scope.Id), new(GenAi.Currency, budget.Currency),
            new(GenAi.BudgetPeriod, budget.Period.ToString().ToLowerInvariant()))));
        var candidates = crossed.Select(p => (Percent: p, Id: AlertId(scope.Kind, scope.Id, p, start, budget.Amount))).ToList();
        var highest = candidates.Where(c => !_claimed.Contains(c.Id)).Select(c => c.Percent).DefaultIfEmpty(0).Max();
        foreach (var (percent, id) in candidates)
        {
            claimed.Add(id);
            if (_claimed.Contains(id)) continue;
            var alert = new BudgetAlert
            {
                Id = id, FiredAt = now, Scope = scope.Kind, ScopeId = scope.Id, Percent = percent, Used = spent, Limit = budget.Amount,
                Currency = budget.Currency, Period = budget.Period, PeriodStart = start, ResetsAt = resetsAt,
                Reason = Reached(spent, budget.Amount, percent) ? "spent" : "refused",
                Delivery = percent < highest ? "superseded" : sender.Any ? "pending" : "none",
            };
            if (await store.TryClaimAsync(alert, cancellationToken).ConfigureAwait(false)) fired.Add((alert, name, teamId));
        }
    }

    // By division, not spent * 100 >= percent * amount: a budget stored near decimal.MaxValue (before the admin API's cap,
    // or written to the store directly) made that product overflow. A threshold of p % is reached exactly at p/100 of the
    // amount, which division gives exactly.
    private static bool Reached(decimal spent, decimal amount, int percent) => Share(spent, amount) >= percent / 100m;

    /// <summary>Spent as a share of the amount (more than 0); a share too large for a decimal is <see cref="decimal.MaxValue"/>.</summary>
    private static decimal Share(decimal spent, decimal amount) =>
        spent <= amount || amount >= 1 || spent / decimal.MaxValue < amount ? spent / amount : decimal.MaxValue;

    private IEnumerable<(BudgetScope Scope, string? Name, string? TeamId)> Scopes()
    {
        foreach (var k in keys.ActiveKeys)
        {
            if (k.Budget is { } b) yield return (new BudgetScope("key", k.Id, b), k.Name, k.TeamId);
        }
        foreach (var t in keys.Teams)
        {
            if (t.Budget is { } b) yield return (new BudgetScope("team", t.Id, b), t.Name, null);
        }
    }

    private void Track(Task delivery)
    {
        _deliveries[delivery] = 0;
        delivery.ContinueWith(t => _deliveries.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task DeliverAsync(BudgetAlert alert, byte[] body)
    {
        try
        {
            var (delivered, attempts, error) = await sender.SendAsync(alert.Id, body, CancellationToken.None).ConfigureAwait(false);
            var outcome = delivered ? "delivered" : "failed";
            if (!delivered) LogDeliveryFailed(logger, alert.Id, attempts, error);
            AlertMetrics.Count(alert with { Delivery = outcome });
            await store.RecordDeliveryAsync(alert.Id, outcome, attempts, error, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogCheckFailed(logger, ex);
        }
    }

    /// <summary>Waits for the deliveries under way (tests; shutdown).</summary>
    public Task DrainAsync() => Task.WhenAll(_deliveries.Keys);

    /// <summary>
    /// The body as Standard Webhooks shapes one (<c>type</c>, <c>timestamp</c>, <c>data</c>); money as strings, as the
    /// admin API writes it, so no receiver rounds it.
    /// </summary>
    public static byte[] Payload(BudgetAlert alert, string? name, string? teamId)
    {
        ArgumentNullException.ThrowIfNull(alert);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("type", EventType);
            w.WriteString("timestamp", alert.FiredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteStartObject("data");
            w.WriteString("alert_id", alert.Id);
            w.WriteString("scope", alert.Scope);
            w.WriteString("id", alert.ScopeId);
            if (name is not null) w.WriteString("name", name);
            if (teamId is not null) w.WriteString("team_id", teamId);
            w.WriteNumber("percent", alert.Percent);
            w.WriteString("used", alert.Used.ToString(CultureInfo.InvariantCulture));
            w.WriteString("limit", alert.Limit.ToString(CultureInfo.InvariantCulture));
            w.WriteString("currency", alert.Currency);
            w.WriteString("period", alert.Period.ToString().ToLowerInvariant());
            w.WriteString("period_start", alert.PeriodStart);
            if (alert.ResetsAt is { } r) w.WriteString("resets_at", r); else w.WriteNull("resets_at");
            w.WriteString("reason", alert.Reason);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// The id of a crossing, the same on every instance (<c>alert_</c> and 24 hex digits of a SHA-256): (scope, id,
    /// threshold, start of the window) and the budget's amount, so that a budget raised (or lowered) in its window is
    /// watched afresh: 80 % of the new amount is a new crossing.
    /// </summary>
    public static string AlertId(string scope, string id, int percent, DateTimeOffset periodStart, decimal? limit = null)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{scope}:{id}:{percent}:{periodStart.UtcTicks}");
        if (limit is { } amount) text = string.Create(CultureInfo.InvariantCulture, $"{text}:{amount.ToString("0.############", CultureInfo.InvariantCulture)}");
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        return "alert_" + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }

    private static string ScopeKey(string kind, string id) => kind + ":" + id;

    internal IEnumerable<Measurement<int>> Levels() => Volatile.Read(ref _levels);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _observed = AlertMetrics.Observe(this);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _observed?.Dispose();
        try
        {
            // Deliveries under way finish within the host's shutdown time; one still retrying then stays "pending".
            await DrainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.IntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _wake, wake);
            try
            {
                await CheckAsync(stoppingToken).ConfigureAwait(false);
                await Task.WhenAny(Task.Delay(interval, time, stoppingToken), wake.Task).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogCheckFailed(logger, ex); // the store away: the next check tries again
                await Task.WhenAny(Task.Delay(interval, time, stoppingToken)).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.BudgetAlertFired, Level = LogLevel.Information,
        Message = "Budget alert: the {Scope} {Id} has used {Used} of {Limit} {Currency} ({Percent} % threshold, {Reason})")]
    private static partial void LogFired(ILogger logger, string scope, string id, int percent, decimal used, decimal limit, string currency, string reason);

    [LoggerMessage(EventId = LogEvents.BudgetAlertDeliveryFailed, Level = LogLevel.Warning,
        Message = "Budget alert {AlertId} was not delivered after {Attempts} attempts: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string alertId, int attempts, string? error);

    [LoggerMessage(EventId = LogEvents.BudgetAlertsFailed, Level = LogLevel.Warning, Message = "Budget alert check failed; trying again at the next one")]
    private static partial void LogCheckFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = LogEvents.BudgetAlertScopeFailed, Level = LogLevel.Warning,
        Message = "Budget alert check failed for the {Scope} {Id}; the other budgets are checked, and this one again at each check")]
    private static partial void LogScopeFailed(ILogger logger, string scope, string id, Exception ex);
}

/// <summary>
/// The alerts' metrics on the gateway's one meter: <c>sanjia.budget.alerts</c> (alerts recorded and how their
/// delivery ended) and <c>sanjia.budget.alert.level</c> (per budget, the highest threshold its spend has crossed
/// this period, from the last check; read at collection, never on the request path).
/// </summary>
internal static class AlertMetrics
{
    public const string Percent = "sanjia.budget.alert.percent";
    public const string Delivery = "sanjia.budget.alert.delivery";

    private static readonly Counter<long> Alerts = GatewayTelemetry.Meter.CreateCounter<long>("sanjia.budget.alerts", "{alert}",
        "Budget alerts: recorded (delivery pending, none or superseded), then delivered or failed.");

    private static readonly List<BudgetAlerts> Live = [];

    static AlertMetrics()
    {
        GatewayTelemetry.Meter.CreateObservableGauge("sanjia.budget.alert.level", () => Snapshot().SelectMany(a => a.Levels()), null,
            "The highest alert threshold, in percent, that a key's or team's budget has crossed in its current period (0 or absent: none).");
    }

    private static BudgetAlerts[] Snapshot()
    {
        lock (Live) return [.. Live];
    }

    public static void Count(BudgetAlert alert)
    {
        if (!Alerts.Enabled) return;
        Alerts.Add(1, new(GenAi.BudgetScope, alert.Scope), new(Percent, alert.Percent), new(Delivery, alert.Delivery));
    }

    public static IDisposable Observe(BudgetAlerts alerts)
    {
        lock (Live) Live.Add(alerts);
        return new Registration(alerts);
    }

    private sealed class Registration(BudgetAlerts alerts) : IDisposable
    {
        public void Dispose()
        {
            lock (Live) Live.Remove(alerts);
        }
    }
}
