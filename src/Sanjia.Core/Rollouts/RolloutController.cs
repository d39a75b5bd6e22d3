using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Reports;

namespace Sanjia.Core.Rollouts;

/// <summary>
/// Starts, judges and ends the aliases' gradual rollouts (docs/routing.md, "Gradual rollouts"). Every
/// <c>Sanjia:Routing:RolloutIntervalSeconds</c> it reads each running rollout's figures from the ledger (the shared
/// store when there is one, so every instance sees the same numbers) and decides: roll back when the candidate's
/// vendor-failure rate exceeds the incumbent's by more than the plan allows, or its median latency is over the
/// allowed ratio, once the step has its minimum sample; advance when the step has its sample, has lasted its dwell
/// time and passes the guard; complete after the last step, when the candidate becomes the alias's promotion. Each
/// decision is a new version of the rollout, taken only over the version it was decided on
/// (<see cref="AliasRollouts.TryCommitAsync"/>), so of several instances deciding one step exactly one wins; the
/// winner rebuilds its registry, the others do on the change it publishes.
/// </summary>
public sealed partial class RolloutController(
    AliasRollouts rollouts,
    AliasOverrides overrides,
    IRegistryReloader reloader,
    ILedgerQuery? ledger,
    TimeProvider time,
    TimeSpan interval,
    ILogger<RolloutController> logger) : BackgroundService
{
    public const string Advance = "advance";
    public const string Complete = "complete";
    public const string Rollback = "rollback";
    public const string Abort = "abort";

    /// <summary>Rows read per side and check at most: the newest ones, a sample far above any step's minimum.</summary>
    internal const int MaxRows = 20_000;
    private const int Page = 2_000;

    /// <summary>Waits until this instance's ledger rows are in the store (the journal's flush), before figures are read.</summary>
    public Func<CancellationToken, Task>? Flush { get; init; }

    /// <summary>
    /// The registry in force (the engine's): a running rollout it no longer routes (its candidate's provider or model
    /// removed from the configuration, or the alias itself) is aborted instead of waiting for traffic that cannot come.
    /// </summary>
    public Func<ModelRegistry>? Registry { get; init; }

    /// <summary>Where each of the controller's decisions is written as an admin audit entry (actor <c>rollout</c>); null: nowhere. Aborts are audited as the admin request they are.</summary>
    public IAuditStore? Audit { get; init; }

    /// <summary>Starts a rollout (the caller has checked the alias and the target); null with the reason when one is running or another change came first.</summary>
    public async Task<(AliasRollout? Rollout, GatewayError? Error)> StartAsync(string alias, string provider, string model, RolloutPlan plan)
    {
        var previous = rollouts.Get(alias);
        if (previous is { IsRunning: true })
        {
            return (null, Refused($"Alias '{alias}' already has a rollout running (to {previous.Deployment}, at {previous.Percent} %); abort it first with DELETE.", "rollout_in_progress"));
        }
        var now = time.GetUtcNow();
        var next = new AliasRollout(alias, provider, model, plan, now) { Version = (previous?.Version ?? 0) + 1, Steps = [new RolloutStep(plan.Steps[0], now)] };
        if (!await rollouts.TryCommitAsync(next).ConfigureAwait(false))
        {
            return (null, Conflict(alias));
        }
        await ReloadAsync().ConfigureAwait(false);
        return (next, null);
    }

    /// <summary>Ends the running rollout of <paramref name="alias"/>: the candidate gets nothing from now on.</summary>
    public async Task<(AliasRollout? Rollout, GatewayError? Error)> AbortAsync(string alias)
    {
        if (rollouts.Get(alias) is not { IsRunning: true } current)
        {
            return (null, new GatewayError(GatewayErrorKind.ModelNotFound, $"Alias '{alias}' has no rollout running.") { Code = "rollout_not_found" });
        }
        var next = current.Decide(Abort, "aborted through the admin API", time.GetUtcNow(), null, null);
        if (!await rollouts.TryCommitAsync(next).ConfigureAwait(false))
        {
            return (null, Conflict(alias));
        }
        await ReloadAsync().ConfigureAwait(false);
        return (next, null);
    }

    /// <summary>Judges every running rollout once; returns the decisions this instance took.</summary>
    public async Task<IReadOnlyList<AliasRollout>> TickAsync(CancellationToken cancellationToken = default)
    {
        var taken = new List<AliasRollout>();
        foreach (var r in rollouts.RunningNow)
        {
            try
            {
                if (await DecideAsync(r, cancellationToken).ConfigureAwait(false) is { } next) taken.Add(next);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogCheckFailed(logger, r.Alias, ex.Message);
            }
        }
        return taken;
    }

    /// <summary>The figures the current step is judged on: the candidate's since the step began, the incumbent's since the rollout began.</summary>
    public async Task<(RolloutFigures Candidate, RolloutFigures Incumbent)> FiguresAsync(AliasRollout r, CancellationToken cancellationToken)
    {
        if (ledger is null) return (new RolloutFigures(0, 0, null), new RolloutFigures(0, 0, null));
        if (Flush is { } flush)
        {
            // Bounded: under steady traffic the journal is never empty for long, and a figure a moment old is fine.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await flush(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        var candidate = await RowsAsync(new LedgerFilter { Model = r.Alias, Deployment = r.Deployment, From = r.Steps[^1].StartedAt }, cancellationToken).ConfigureAwait(false);
        var all = await RowsAsync(new LedgerFilter { Model = r.Alias, From = r.StartedAt }, cancellationToken).ConfigureAwait(false);
        var incumbent = all.Where(e => e.Deployment is not null && !string.Equals(e.Deployment, r.Deployment, StringComparison.OrdinalIgnoreCase));
        return (Figures(candidate), Figures(incumbent));
    }

    /// <summary>Requests the vendor answered or failed (as the SLA view counts them), vendor failures, and the median latency of first-attempt successes.</summary>
    internal static RolloutFigures Figures(IEnumerable<LedgerEntry> rows)
    {
        var requests = 0;
        var failures = 0;
        var latencies = new List<double>();
        foreach (var e in rows)
        {
            // In flight, a cache hit (no upstream call) or a client error says nothing about the deployment; evaluation
            // traffic is not in the split (it always goes to the incumbent), so it would weigh on one side only. A 404
            // is the deployment's: the client named the alias, which exists, so the deployment's model is not there.
            var missing = e.Status == 404;
            if (e.Status == 0 || e.CacheOf is not null || e.Evaluation || (LedgerStats.IsClientError(e) && !missing)) continue;
            requests++;
            if (missing || LedgerStats.IsVendorFailure(e)) failures++;
            // A fallback's latency includes the failed attempt before it.
            else if (e.Attempt == 1) latencies.Add(e.LatencyMs);
        }
        latencies.Sort();
        return new RolloutFigures(requests, failures, latencies.Count == 0 ? null : latencies[latencies.Count / 2]);
    }

    /// <summary>The decision the figures call for, or null to wait (the step's sample or dwell time is not there yet).</summary>
    public static (string Decision, string Reason)? Judge(AliasRollout r, RolloutFigures candidate, RolloutFigures incumbent, DateTimeOffset now)
    {
        var plan = r.Plan;
        var step = r.Steps[^1];
        if (candidate.Requests < plan.MinRequestsPerStep) return null;
        var rate = candidate.FailureRate ?? 0;
        var baseline = incumbent.FailureRate ?? 0;
        if (rate > baseline + plan.MaxErrorRateIncrease)
        {
            return (Rollback, string.Create(CultureInfo.InvariantCulture,
                $"vendor failures {rate:P1} of {candidate.Requests} requests, against {baseline:P1} for the incumbent: more than {plan.MaxErrorRateIncrease * 100:0.##} points worse"));
        }
        if (plan.MaxLatencyRatio is { } max && candidate.LatencyP50Ms is { } c && incumbent.LatencyP50Ms is { } i && i > 0 && c / i > max)
        {
            return (Rollback, string.Create(CultureInfo.InvariantCulture, $"median latency {c:0} ms against {i:0} ms for the incumbent: {c / i:0.##} times, over the allowed {max:0.##}"));
        }
        if (now - step.StartedAt < TimeSpan.FromSeconds(plan.DwellSeconds)) return null;
        var last = r.Steps.Count >= plan.Steps.Length;
        return (last ? Complete : Advance, string.Create(CultureInfo.InvariantCulture,
            $"{candidate.Requests} requests, vendor failures {rate:P1} against {baseline:P1}{(candidate.LatencyP50Ms is { } p ? $", median {p:0} ms" : "")}{(incumbent.LatencyP50Ms is { } q ? $" against {q:0} ms" : "")}: within the guard"));
    }

    private async Task<AliasRollout?> DecideAsync(AliasRollout r, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        RolloutFigures? candidate = null, incumbent = null;
        string decision, reason;
        if (IsUnrouted(r))
        {
            (decision, reason) = (Abort, $"the configuration no longer serves {r.Deployment} as a candidate for alias '{r.Alias}' (its provider, model or the alias was removed or changed)");
        }
        else
        {
            (candidate, incumbent) = await FiguresAsync(r, cancellationToken).ConfigureAwait(false);
            if (Judge(r, candidate, incumbent, now) is not var (judged, why)) return null;
            (decision, reason) = (judged, why);
        }
        var next = r.Decide(decision, reason, now, candidate, incumbent);
        if (!await rollouts.TryCommitAsync(next).ConfigureAwait(false)) return null; // another instance decided this step first
        LogDecided(logger, r.Alias, next.Deployment, decision, r.Percent, reason);
        if (next.Promotion is { } promotion)
        {
            // The rollout is over: the candidate is the alias's first choice, as a promotion through the admin API would make it.
            overrides.Set(r.Alias, promotion);
        }
        await ReloadAsync().ConfigureAwait(false);
        await AuditAsync(next, decision).ConfigureAwait(false);
        return next;
    }

    /// <summary>
    /// Whether the registry in force no longer routes the rollout. Only a registry built after the rollout's last change
    /// can say so (another instance may not have rebuilt its own since the change it published).
    /// </summary>
    private bool IsUnrouted(AliasRollout r) =>
        Registry?.Invoke() is { } registry && registry.Created >= r.Steps[^1].StartedAt && registry.Resolve(r.Alias) is not { Rollout: not null };

    private async Task<List<LedgerEntry>> RowsAsync(LedgerFilter filter, CancellationToken cancellationToken)
    {
        var rows = new List<LedgerEntry>();
        long? before = null;
        while (rows.Count < MaxRows)
        {
            var page = await ledger!.QueryAsync(filter with { Before = before, Limit = Page }, cancellationToken).ConfigureAwait(false);
            rows.AddRange(page.Select(p => p.Entry));
            if (page.Count < Page) break;
            before = page[^1].Id;
        }
        return rows;
    }

    private async Task ReloadAsync()
    {
        if (await reloader.ReloadAsync().ConfigureAwait(false) is { Count: > 0 } errors)
        {
            LogCheckFailed(logger, "(registry)", "the configuration does not load: " + string.Join(" ", errors));
        }
    }

    private async Task AuditAsync(AliasRollout r, string decision)
    {
        if (Audit is null) return;
        try
        {
            await Audit.AppendAsync(new AuditEntry
            {
                Timestamp = time.GetUtcNow(),
                Actor = "rollout",
                Via = "controller",
                Method = "POST",
                Path = $"/admin/aliases/{r.Alias}/rollout",
                Route = "/admin/aliases/{alias}/rollout",
                TargetId = r.Alias,
                Fields = [decision],
                Status = 200,
            }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogCheckFailed(logger, r.Alias, "the audit entry was not written: " + ex.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
                await TickAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static GatewayError Refused(string message, string code) => GatewayError.Invalid(message, "alias", code);

    private static GatewayError Conflict(string alias) =>
        Refused($"The rollout of '{alias}' was changed at the same moment (through another instance, or its shared state cannot be reached); read it and retry.", "rollout_conflict");

    [LoggerMessage(EventId = LogEvents.RolloutDecided, Level = LogLevel.Information, Message = "Rollout of {Alias} to {Deployment} at {Percent} %: {Decision} ({Reason})")]
    private static partial void LogDecided(ILogger logger, string alias, string deployment, string decision, int percent, string reason);

    [LoggerMessage(EventId = LogEvents.RolloutCheckFailed, Level = LogLevel.Warning, Message = "Checking the rollout of {Alias} failed: {Reason}")]
    private static partial void LogCheckFailed(ILogger logger, string alias, string reason);
}
