using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sanjia.Abstractions;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using StackExchange.Redis;

namespace Sanjia.Redis;

/// <summary>
/// Budgets' holds and RPM/TPM shared by every instance through one Redis (decision 0006). Admission is one script
/// (<see cref="RedisScripts.Admit"/>), so one round trip before the upstream call; settlement is sent after it without
/// waiting (<see cref="Finish"/>). A budget's state for a window is loaded from the ledger when Redis does not have
/// it (first use, or Redis restarted); the request waits for that load, so budgeted keys stay closed meanwhile.
/// While Redis cannot be reached: budgeted keys get 503 <c>budget_store_unavailable</c>, or with
/// <see cref="RedisOptions.FailOpen"/> are admitted and their spend is added to Redis when it returns; RPM/TPM fall
/// back to this instance's own limiter.
/// </summary>
public sealed partial class RedisSharedState : IAdmissionStore, IBudgetTracker
{
    private const long Nano = 1_000_000_000;
    private static readonly RedisValue NoHold = "";

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisOptions _options;
    private readonly Func<BudgetScope, DateTimeOffset, CancellationToken, Task<decimal>> _loadSpent;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];
    private readonly InMemoryRateLimiter _local;
    /// <summary>Spend settled while Redis could not be reached, per budget state key, added when it returns.</summary>
    private readonly ConcurrentDictionary<string, long> _unsynced = new(StringComparer.Ordinal);
    private long _seq;
    private int _down;

    /// <param name="loadSpent">What the ledger holds for a budget since a time, in its currency (the same reader the in-memory tracker uses).</param>
    public RedisSharedState(IConnectionMultiplexer redis, RedisOptions options, Func<BudgetScope, DateTimeOffset, CancellationToken, Task<decimal>> loadSpent,
        TimeProvider time, ILogger<RedisSharedState> logger)
    {
        _redis = redis;
        _options = options;
        _loadSpent = loadSpent;
        _time = time;
        _logger = logger;
        _prefix = "{" + options.KeyPrefix + "}:";
        _local = new InMemoryRateLimiter(time);
        redis.ConnectionRestored += (_, _) => _ = SyncUnsettledAsync();
    }

    /// <summary>Whether commands can be sent now (the multiplexer reconnects by itself).</summary>
    public bool IsConnected => _redis.IsConnected;

    private IDatabase Db => _redis.GetDatabase();

    /// <summary>The hold of one budget: where it lives in Redis and its amount there.</summary>
    private sealed record Hold(RedisKey State, RedisKey Holds, string? Id);

    public async ValueTask<AdmissionResult> AdmitAsync(string keyId, int? rpm, int? tpm, IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts,
        CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected)
        {
            return Unavailable(keyId, rpm, tpm, amounts, null);
        }
        var now = _time.GetUtcNow();
        var keys = new RedisKey[2 + 2 * amounts.Count];
        keys[0] = _prefix + "rpm:" + keyId;
        keys[1] = _prefix + "tpm:" + keyId;
        var args = new RedisValue[5 + 3 * amounts.Count];
        var holdId = _instance + ":" + Interlocked.Increment(ref _seq).ToString(CultureInfo.InvariantCulture);
        args[0] = Micros(now);
        args[1] = rpm ?? 0;
        args[2] = tpm ?? 0;
        args[3] = holdId;
        args[4] = Micros(now.AddSeconds(_options.HoldSeconds));
        var windows = new (DateTimeOffset Start, DateTimeOffset? Reset)[amounts.Count];
        for (var i = 0; i < amounts.Count; i++)
        {
            var (scope, amount) = amounts[i];
            windows[i] = BudgetWindow.For(scope.Budget.Period, now);
            var state = StateKey(scope, windows[i].Start);
            keys[2 + 2 * i] = state;
            keys[3 + 2 * i] = state + ":holds";
            args[5 + 3 * i] = ToNano(scope.Budget.Amount, up: false);
            args[6 + 3 * i] = ToNano(amount, up: true);
            args[7 + 3 * i] = ExpireAt(windows[i].Reset);
        }
        // At most one load per budget (first use of a window, or after a Redis restart); then the admission again.
        for (var attempt = 0; attempt <= amounts.Count; attempt++)
        {
            RedisResult[] r;
            try
            {
                r = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisScripts.Admit, keys, args).WaitAsync(cancellationToken).ConfigureAwait(false))!;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return Unavailable(keyId, rpm, tpm, amounts, ex);
            }
            Restored();
            var code = (long)r[0];
            if (code == -1)
            {
                var i = (int)(long)r[1] - 1;
                try
                {
                    await LoadAsync(amounts[i].Scope, windows[i].Start, windows[i].Reset, keys[2 + 2 * i], cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    return Unavailable(keyId, rpm, tpm, amounts, ex);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // The ledger cannot be read: a budget whose spend is unknown stays closed.
                    LogRebuildFailed(_logger, ex.Message);
                    return new AdmissionResult(false, null, null, default, null, null, Closed("its spend cannot be read from the ledger"));
                }
                continue;
            }
            var limits = Limits(r, rpm, tpm);
            switch (code)
            {
                case 1:
                    if (amounts.Count == 0) return new AdmissionResult(true, null, null, default, null, limits, null);
                    var holds = new List<(BudgetScope, object, decimal)>(amounts.Count);
                    for (var i = 0; i < amounts.Count; i++)
                    {
                        holds.Add((amounts[i].Scope, new Hold(keys[2 + 2 * i], keys[3 + 2 * i], holdId), amounts[i].Amount));
                    }
                    return new AdmissionResult(true, new BudgetReservation(holds), null, default, null, limits, null);
                case -2 or -4:
                    return new AdmissionResult(false, null, code == -2 ? "rpm" : "tpm", Micros((double)r[5]), null, limits, null);
                default:
                    var b = (int)(long)r[5] - 1;
                    var left = (decimal)(long)r[6] / Nano;
                    return new AdmissionResult(false, null, null, default, new ReserveResult(null, amounts[b].Scope, left, windows[b].Reset), limits, null);
            }
        }
        return new AdmissionResult(false, null, null, default, null, null, Closed("its state could not be loaded"));
    }

    /// <summary>Loads a budget's window from the ledger into Redis (kept if another instance was first).</summary>
    private async Task LoadAsync(BudgetScope scope, DateTimeOffset start, DateTimeOffset? reset, RedisKey state, CancellationToken cancellationToken)
    {
        var spent = await _loadSpent(scope, start, cancellationToken).ConfigureAwait(false);
        var created = (long)await Db.ScriptEvaluateAsync(RedisScripts.Init, [state], [ToNano(spent, up: true), ExpireAt(reset)]).ConfigureAwait(false);
        if (created == 1) LogRebuilt(_logger, scope.Kind, scope.Id, spent, scope.Budget.Currency);
    }

    public void Finish(string keyId, int? tpm, int tokens, BudgetReservation? reservation, IReadOnlyList<decimal>? actual)
    {
        if (reservation is not null && !reservation.TryFinish()) return;
        var countTokens = tpm is not null && tokens > 0;
        if (!countTokens && reservation is null) return;
        var holds = reservation?.Holds ?? [];
        var keys = new RedisKey[1 + 2 * holds.Count];
        keys[0] = _prefix + "tpm:" + keyId;
        var args = new RedisValue[4 + holds.Count];
        args[0] = Micros(_time.GetUtcNow());
        args[1] = tpm ?? 0;
        args[2] = tokens;
        args[3] = NoHold;
        for (var i = 0; i < holds.Count; i++)
        {
            var hold = (Hold)holds[i].State;
            keys[1 + 2 * i] = hold.State;
            keys[2 + 2 * i] = hold.Holds;
            if (hold.Id is { } id) args[3] = id;
            args[4 + i] = actual is null ? 0 : ToNano(actual[i], up: true);
        }
        if (!_redis.IsConnected)
        {
            Unsettled(keys, args, tokens, keyId, tpm);
            return;
        }
        _ = SendAsync(keys, args, keyId, tpm, tokens);
    }

    /// <summary>The settlement, pipelined with everything else on the connection; nobody waits for it. Lost, its spend is kept for when Redis returns.</summary>
    private async Task SendAsync(RedisKey[] keys, RedisValue[] args, string keyId, int? tpm, int tokens)
    {
        try
        {
            await Db.ScriptEvaluateAsync(RedisScripts.Settle, keys, args).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Counted again if it did arrive: an over-count is the safe side of a budget.
            Unsettled(keys, args, tokens, keyId, tpm);
        }
    }

    private void Unsettled(RedisKey[] keys, RedisValue[] args, int tokens, string keyId, int? tpm)
    {
        if (tpm is not null && tokens > 0) _local.AddTokens(keyId, tokens);
        for (var i = 0; 1 + 2 * i < keys.Length; i++)
        {
            var nano = (long)args[4 + i];
            if (nano > 0) _unsynced.AddOrUpdate((string)keys[1 + 2 * i]!, nano, (_, n) => n + nano);
        }
    }

    /// <summary>When Redis is back: the spend settled meanwhile is added to the budgets' states that still exist (lost ones reload from the ledger).</summary>
    private async Task SyncUnsettledAsync()
    {
        foreach (var state in _unsynced.Keys)
        {
            if (!_unsynced.TryRemove(state, out var nano)) continue;
            try
            {
                await Db.ScriptEvaluateAsync(RedisScripts.Settle, [_prefix + "none", state, state + ":holds"], [0, 0, 0, NoHold, nano]).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _unsynced.AddOrUpdate(state, nano, (_, n) => n + nano);
                return;
            }
        }
    }

    /// <summary>Redis did not answer: budgets closed (or open by configuration), limits counted by this instance alone.</summary>
    private AdmissionResult Unavailable(string keyId, int? rpm, int? tpm, IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts, Exception? ex)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            LogUnavailable(_logger, ex?.Message ?? "not connected", _options.FailOpen ? "admitted (FailOpen)" : "refused with 503 budget_store_unavailable");
        }
        if (amounts.Count > 0 && !_options.FailOpen)
        {
            return new AdmissionResult(false, null, null, default, null, null, Closed("Redis cannot be reached"));
        }
        var (allowed, limit, retry, limits) = _local.TryAcquire(keyId, rpm, tpm);
        if (!allowed) return new AdmissionResult(false, null, limit, retry, null, limits, null);
        if (amounts.Count == 0) return new AdmissionResult(true, null, null, default, null, limits, null);
        var now = _time.GetUtcNow();
        var holds = new List<(BudgetScope, object, decimal)>(amounts.Count);
        foreach (var (scope, _) in amounts)
        {
            var state = StateKey(scope, BudgetWindow.For(scope.Budget.Period, now).Start);
            holds.Add((scope, new Hold(state, state + ":holds", null), 0m));
        }
        return new AdmissionResult(true, new BudgetReservation(holds), null, default, null, limits, null);
    }

    /// <summary>After each command that worked: log the end of an outage, and send what was settled during it (again, if a try failed).</summary>
    private void Restored()
    {
        if (Volatile.Read(ref _down) == 1 && Interlocked.Exchange(ref _down, 0) == 1) LogRestored(_logger);
        if (!_unsynced.IsEmpty) _ = SyncUnsettledAsync();
    }

    private static GatewayError Closed(string why) => new(GatewayErrorKind.Unavailable,
        $"This key has a budget, and the shared budget store cannot be used now ({why}): the request is refused rather than risk overspending. Try again shortly.")
    { Code = "budget_store_unavailable", RetryAfter = TimeSpan.FromSeconds(1) };

    private static RateLimitStatus? Limits(RedisResult[] r, int? rpm, int? tpm) => rpm is null && tpm is null ? null
        : new RateLimitStatus(rpm, Math.Max(0, (long)r[1]), Micros((double)r[2]), tpm, Math.Max(0, (long)r[3]), Micros((double)r[4]));

    // IBudgetTracker: the admin API's view, and budget-only callers.

    public async ValueTask<ReserveResult> TryReserveAsync(IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts, CancellationToken cancellationToken)
    {
        var r = await AdmitAsync("", null, null, amounts, cancellationToken).ConfigureAwait(false);
        if (r.Error is { } e) throw new InvalidOperationException(e.Message);
        return r.Admitted ? new ReserveResult(r.Reservation, null, 0, null) : r.Budget!;
    }

    public void Settle(BudgetReservation reservation, IReadOnlyList<decimal> actual) => Finish("", null, 0, reservation, actual);

    public void Release(BudgetReservation reservation) => Finish("", null, 0, reservation, null);

    public async ValueTask<(decimal Spent, decimal Reserved, DateTimeOffset? ResetsAt)> StatusAsync(BudgetScope scope, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var (start, reset) = BudgetWindow.For(scope.Budget.Period, now);
        var state = StateKey(scope, start);
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisScripts.Status, [state, state + ":holds"], [Micros(now)]).WaitAsync(cancellationToken).ConfigureAwait(false))!;
        Restored();
        if ((long)r[0] == -1)
        {
            return (await _loadSpent(scope, start, cancellationToken).ConfigureAwait(false), 0m, reset);
        }
        return ((decimal)(long)r[1] / Nano, (decimal)(long)r[2] / Nano, reset);
    }

    private string StateKey(BudgetScope scope, DateTimeOffset start) =>
        _prefix + "budget:" + scope.Kind + ":" + scope.Id + ":" + scope.Budget.Currency + ":" + scope.Budget.Period.ToString() + ":"
        + start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static long Micros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static TimeSpan Micros(double us) => TimeSpan.FromTicks((long)Math.Max(0, us) * 10);

    /// <summary>A day after the window ends, so a late settlement still finds it; never for a total budget.</summary>
    private static long ExpireAt(DateTimeOffset? reset) => reset is { } r ? r.AddDays(1).ToUnixTimeMilliseconds() : 0;

    /// <summary>Billionths of a currency unit, rounded against the budget: holds and spend up, the limit down.</summary>
    private static long ToNano(decimal amount, bool up)
    {
        var n = amount * Nano;
        return (long)(up ? decimal.Ceiling(n) : decimal.Floor(n));
    }

    [LoggerMessage(EventId = LogEvents.SharedStateUnavailable, Level = LogLevel.Warning,
        Message = "Redis cannot be used ({Reason}): budgeted keys are {Policy}; rate limits are counted per instance until it returns.")]
    private static partial void LogUnavailable(ILogger logger, string reason, string policy);

    [LoggerMessage(EventId = LogEvents.SharedStateRestored, Level = LogLevel.Information, Message = "Redis answers again: budgets and rate limits are shared again.")]
    private static partial void LogRestored(ILogger logger);

    [LoggerMessage(EventId = LogEvents.SharedStateRebuilt, Level = LogLevel.Information,
        Message = "Budget state for {Kind} {Id} loaded into Redis from the ledger: {Spent} {Currency} spent in the current window.")]
    private static partial void LogRebuilt(ILogger logger, string kind, string id, decimal spent, string currency);

    [LoggerMessage(EventId = LogEvents.SharedStateRebuildFailed, Level = LogLevel.Warning,
        Message = "A budget's spend could not be read from the ledger to rebuild its Redis state ({Reason}): the request is refused.")]
    private static partial void LogRebuildFailed(ILogger logger, string reason);
}
