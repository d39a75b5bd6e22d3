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
public sealed partial class RedisSharedState : IAdmissionStore, IBudgetTracker, ISharedBudgets, IDisposable
{
    // The per-request scripts, called by their SHA-1 (RedisScript).
    private static readonly RedisScript AdmitScript = new(RedisScripts.Admit);
    private static readonly RedisScript SettleScript = new(RedisScripts.SettleBatch);

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
    private readonly Func<string, DateTimeOffset, DateTimeOffset, CancellationToken, Task<IReadOnlyList<LedgerEntry>>>? _loadRequests;
    /// <summary>When this Redis's RPM/TPM began, and the keys rebuilt since (named by the admission script itself).</summary>
    private readonly RedisKey _epochKey, _rebuiltKey;
    /// <summary>Spend settled while Redis could not be reached, per budget state key, added when it returns.</summary>
    private readonly ConcurrentDictionary<string, long> _unsynced = new(StringComparer.Ordinal);
    /// <summary>This instance's holds not yet settled, by hold id: renewed so that only a dead instance's expire.</summary>
    private readonly ConcurrentDictionary<string, BudgetReservation> _live = new(StringComparer.Ordinal);
    private readonly ITimer _renewal;
    /// <summary>
    /// The Redis keys of a virtual key's RPM and TPM, and of a budget's window (state and holds), made once rather than
    /// concatenated on every admission and settlement (four to six strings a request). Bounded: emptied past
    /// <see cref="MaxNames"/> entries (a key a week cycling daily windows adds one a day).
    /// </summary>
    private readonly ConcurrentDictionary<string, (RedisKey Rpm, RedisKey Tpm)> _limitNames = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(BudgetScope Scope, long Start), (string State, string Holds)> _budgetNames = new();
    private const int MaxNames = 10_000;
    private long _seq;
    private int _down;

    /// <param name="loadSpent">What the ledger holds for a budget since a time, in its currency (the same reader the in-memory tracker uses).</param>
    /// <param name="loadRequests">
    /// A key's ledger rows in [from, to) (this instance's journal flushed first), to rebuild its RPM/TPM after Redis lost
    /// them; null: limits restart empty (at most one extra burst per key).
    /// </param>
    public RedisSharedState(IConnectionMultiplexer redis, RedisOptions options, Func<BudgetScope, DateTimeOffset, CancellationToken, Task<decimal>> loadSpent,
        TimeProvider time, ILogger<RedisSharedState> logger,
        Func<string, DateTimeOffset, DateTimeOffset, CancellationToken, Task<IReadOnlyList<LedgerEntry>>>? loadRequests = null)
    {
        _loadRequests = loadRequests;
        _redis = redis;
        _options = options;
        _loadSpent = loadSpent;
        _time = time;
        _logger = logger;
        _prefix = options.Key("");
        _epochKey = _prefix + "limits:epoch";
        _rebuiltKey = _prefix + "limits:rebuilt";
        _local = new InMemoryRateLimiter(time);
        redis.ConnectionRestored += (_, _) => _ = SyncUnsettledAsync();
        var every = TimeSpan.FromSeconds(options.HoldSeconds / 3.0);
        _renewal = time.CreateTimer(_ => _ = RenewAsync(), null, every, every);
    }

    /// <summary>
    /// Three times per <see cref="RedisOptions.HoldSeconds"/>: moves the expiry of every hold this instance still has
    /// (a long stream's) to now + HoldSeconds, in one pipelined batch (ZADD XX: a hold already settled is not
    /// recreated). An instance that died renews nothing, so its holds expire within HoldSeconds.
    /// </summary>
    private async Task RenewAsync()
    {
        if (_live.IsEmpty || !_redis.IsConnected) return;
        var expiry = Micros(_time.GetUtcNow().AddSeconds(_options.HoldSeconds));
        var batch = Db.CreateBatch();
        var sent = new List<Task>();
        foreach (var (id, reservation) in _live)
        {
            foreach (var (_, state, _) in reservation.Holds)
            {
                sent.Add(batch.SortedSetAddAsync(((Hold)state).Holds, id, expiry, SortedSetWhen.Exists));
            }
        }
        batch.Execute();
        try
        {
            await Task.WhenAll(sent).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Tried again at the next tick; a hold lives HoldSeconds, three ticks.
        }
    }

    public void Dispose()
    {
        _renewal.Dispose();
        // Settlements still queued at shutdown go out now (best effort: Redis may be the reason for the shutdown).
        var batch = new List<Settlement>();
        while (_settlements.TryDequeue(out var next)) batch.Add(next);
        if (batch.Count > 0 && _redis.IsConnected) SendAsync(batch).Wait(TimeSpan.FromSeconds(2));
    }

    /// <summary>Keeps an admitted hold renewed until it is settled.</summary>
    private BudgetReservation Live(BudgetReservation reservation)
    {
        _live[((Hold)reservation.Holds[0].State).Id!] = reservation;
        return reservation;
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
        var slots = amounts.Count == 0 ? [] : new Slot[amounts.Count];
        for (var i = 0; i < amounts.Count; i++)
        {
            var (scope, amount) = amounts[i];
            var (start, reset) = BudgetWindow.For(scope.Budget.Period, now);
            var (state, holdsKey) = BudgetNames(scope, start);
            slots[i] = new Slot(state, holdsKey, scope.Budget.Amount, amount, reset, scope, start, null);
        }
        var (code, r, holdId, error) = await HoldAsync(keyId, rpm, tpm, slots, now, cancellationToken).ConfigureAwait(false);
        if (r is null)
        {
            return Unavailable(keyId, rpm, tpm, amounts, null);
        }
        if (error is not null)
        {
            return new AdmissionResult(false, null, null, default, null, null, error);
        }
        var limits = Limits(r!, rpm, tpm);
        switch (code)
        {
            case 1:
                if (amounts.Count == 0) return new AdmissionResult(true, null, null, default, null, limits, null);
                var holds = new (BudgetScope, object, decimal)[amounts.Count];
                for (var i = 0; i < amounts.Count; i++) holds[i] = (amounts[i].Scope, new Hold(slots[i].State, slots[i].Holds, holdId), amounts[i].Amount);
                return new AdmissionResult(true, Live(new BudgetReservation(holds)), null, default, null, limits, null);
            case -2 or -4:
                return new AdmissionResult(false, null, code == -2 ? "rpm" : "tpm", Micros((double)r![5]), null, limits, null);
            default:
                var b = (int)(long)r![5] - 1;
                var left = (decimal)(long)r[6] / Nano;
                return new AdmissionResult(false, null, null, default, new ReserveResult(null, amounts[b].Scope, left, slots[b].Reset), limits, null);
        }
    }

    /// <summary>
    /// One budget to hold on: its state and holds keys, limit and amount, window end, and what it is (a key's or team's
    /// scope and window start, or a shared budget), from which its spend is loaded and its label made only when needed.
    /// </summary>
    private readonly record struct Slot(string State, string Holds, decimal Limit, decimal Amount, DateTimeOffset? Reset,
        BudgetScope? Scope, DateTimeOffset Start, SharedBudget? Shared)
    {
        public string Label => Shared?.Name ?? $"{Scope!.Kind} {Scope.Id}";
        public string Currency => Shared?.Currency ?? Scope!.Budget.Currency;
    }

    // Budget states being loaded from the ledger, one load per state at a time: after a Redis restart, or at a busy
    // key's first request of a window, every concurrent request finds the state missing, and without this each would
    // read the ledger at once (hundreds of PostgreSQL connections for one number).
    private readonly ConcurrentDictionary<string, Lazy<Task<decimal>>> _loading = new(StringComparer.Ordinal);

    private Task<decimal> LoadAsync(in Slot slot, CancellationToken cancellationToken)
    {
        var s = slot;
        return _loading.GetOrAdd(slot.State, state => new Lazy<Task<decimal>>(() => LoadOnceAsync(s, state))).Value.WaitAsync(cancellationToken);
    }

    private async Task<decimal> LoadOnceAsync(Slot slot, string state)
    {
        try
        {
            // Not one caller's cancellation: the others wait on the same load.
            return await (slot.Shared is { } shared ? shared.LoadSpent(CancellationToken.None) : _loadSpent(slot.Scope!, slot.Start, CancellationToken.None)).ConfigureAwait(false);
        }
        finally
        {
            _loading.TryRemove(state, out _);
        }
    }

    /// <summary>
    /// Runs the admission script, loading any budget whose state Redis lacks (at most once each) and asking again.
    /// Answers the script's code and reply, and the hold's id (the same in every budget it holds on); a null reply
    /// when Redis cannot be reached; or the error that closes the request when a budget's spend cannot be loaded.
    /// </summary>
    private async Task<(long Code, RedisResult[]? Reply, string HoldId, GatewayError? Error)> HoldAsync(
        string keyId, int? rpm, int? tpm, Slot[] slots, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var keys = new RedisKey[2 + 2 * slots.Length];
        (keys[0], keys[1]) = LimitNames(keyId);
        var args = new RedisValue[5 + 3 * slots.Length];
        var holdId = string.Create(CultureInfo.InvariantCulture, $"{_instance}:{Interlocked.Increment(ref _seq)}");
        args[0] = Micros(now);
        args[1] = rpm ?? 0;
        args[2] = tpm ?? 0;
        args[3] = holdId;
        args[4] = Micros(now.AddSeconds(_options.HoldSeconds));
        for (var i = 0; i < slots.Length; i++)
        {
            keys[2 + 2 * i] = slots[i].State;
            keys[3 + 2 * i] = slots[i].Holds;
            args[5 + 3 * i] = ToNano(slots[i].Limit, up: false);
            args[6 + 3 * i] = ToNano(slots[i].Amount, up: true);
            args[7 + 3 * i] = ExpireAt(slots[i].Reset);
        }
        // Each budget's state and the key's limits may each need loading once.
        for (var attempt = 0; attempt <= slots.Length + 1; attempt++)
        {
            RedisResult[] r;
            try
            {
                r = (RedisResult[])(await AdmitScript.EvaluateAsync(Db, keys, args).WaitAsync(cancellationToken).ConfigureAwait(false))!;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                NoteDown(ex.Message);
                return (0, null, holdId, Closed("Redis cannot be reached"));
            }
            Restored();
            // The key's limits were lost with Redis: rebuilt, then asked again (a Redis failure meanwhile is met there).
            if ((long)r[0] == -5)
            {
                await RebuildLimitsAsync(keyId, rpm, tpm, keys[0], keys[1], now, cancellationToken).ConfigureAwait(false);
                continue;
            }
            var code = (long)r[0];
            if (code != -1) return (code, r, holdId, null);
            var slot = slots[(int)(long)r[1] - 1];
            try
            {
                var spent = await LoadAsync(slot, cancellationToken).ConfigureAwait(false);
                var created = (long)await Db.ScriptEvaluateAsync(RedisScripts.Init, [slot.State], [ToNano(spent, up: true), ExpireAt(slot.Reset)]).ConfigureAwait(false);
                if (created == 1) LogRebuilt(_logger, slot.Label, spent, slot.Currency);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                NoteDown(ex.Message);
                return (0, null, holdId, Closed("Redis cannot be reached"));
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // The ledger cannot be read: a budget whose spend is unknown stays closed.
                LogRebuildFailed(_logger, ex.Message);
                return (0, Array.Empty<RedisResult>(), holdId, Closed("its spend cannot be read from the ledger"));
            }
        }
        return (0, Array.Empty<RedisResult>(), holdId, Closed("its state could not be loaded"));
    }

    /// <summary>
    /// The key's RPM/TPM after Redis lost them (restarted empty, or new): its last minute before this Redis's epoch is
    /// read from the ledger and replayed through GCRA (each admitted request, once, at its time; its tokens, every
    /// attempt's), and what that state still owes at <paramref name="now"/> is added to the TATs Redis has counted
    /// since. A ledger that cannot be read leaves the limits as Redis has them (a burst, not a closed key: limits are
    /// not money), logged.
    /// </summary>
    private async Task RebuildLimitsAsync(string keyId, int? rpm, int? tpm, RedisKey rpmKey, RedisKey tpmKey, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            await RebuildLimitsCoreAsync(keyId, rpm, tpm, rpmKey, tpmKey, now, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            NoteDown(ex.Message);
        }
    }

    private async Task RebuildLimitsCoreAsync(string keyId, int? rpm, int? tpm, RedisKey rpmKey, RedisKey tpmKey, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var epochUs = (long)await Db.ScriptEvaluateAsync(RedisScripts.LimitsEpoch, [_epochKey], [Micros(now)]).ConfigureAwait(false);
        var epoch = DateTimeOffset.UnixEpoch.AddTicks(epochUs * 10);
        long rpmDebt = 0, tpmDebt = 0;
        if (_loadRequests is not null && now - epoch < TimeSpan.FromMinutes(1))
        {
            try
            {
                var rows = await _loadRequests(keyId, now.AddMinutes(-1), epoch, cancellationToken).ConfigureAwait(false);
                (rpmDebt, tpmDebt) = LimitDebts(rows, rpm, tpm, Micros(now));
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not RedisException and not TimeoutException)
            {
                LogRebuildFailed(_logger, ex.Message);
            }
        }
        var rebuilt = (long)await Db.ScriptEvaluateAsync(RedisScripts.LimitsInit, [rpmKey, tpmKey, _rebuiltKey], [Micros(now), rpmDebt, tpmDebt, keyId]).ConfigureAwait(false);
        if (rebuilt == 1 && (rpmDebt > 0 || tpmDebt > 0)) LogLimitsRebuilt(_logger, keyId, rpmDebt / 1000, tpmDebt / 1000);
    }

    /// <summary>
    /// What a key's GCRA state, replayed from its ledger rows, still owes at <paramref name="nowUs"/> (µs, per limit):
    /// rows a request was admitted for (answered by a deployment or from the cache; refusals never were) count once per
    /// request for RPM at its first row's time, and every row's tokens for TPM, as settlement counts them.
    /// </summary>
    public static (long Rpm, long Tpm) LimitDebts(IEnumerable<LedgerEntry> rows, int? rpm, int? tpm, long nowUs)
    {
        const double W = 60_000_000;
        double reqTat = 0, tokTat = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows.Where(r => r.Deployment is not null || r.CacheOf is not null).OrderBy(r => r.Timestamp))
        {
            var t = (double)Micros(row.Timestamp);
            if (rpm is > 0 && seen.Add(row.RequestId)) reqTat = Math.Max(reqTat, t) + (W / rpm.Value);
            var tokens = row.Usage.Input + row.Usage.Output;
            if (tpm is > 0 && tokens > 0) tokTat = Math.Max(tokTat, t) + (tokens * W / tpm.Value);
        }
        return ((long)Math.Max(0, reqTat - nowUs), (long)Math.Max(0, tokTat - nowUs));
    }

    public async ValueTask<BudgetReservation?> TryHoldAsync(SharedBudget budget, decimal amount, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected) return null;
        var state = SharedKey(budget);
        var slot = new Slot(state, state + ":holds", budget.Limit, amount, budget.End, null, budget.Start, budget);
        var (code, _, holdId, _) = await HoldAsync("", null, null, [slot], _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return code == 1 ? Live(new BudgetReservation([(null!, new Hold(slot.State, slot.Holds, holdId), amount)])) : null;
    }

    public void Finish(BudgetReservation hold, decimal? actual) => Finish("", null, 0, hold, actual is { } a ? [a] : null);

    public async ValueTask<(decimal Spent, decimal Reserved)> StatusAsync(SharedBudget budget, CancellationToken cancellationToken)
    {
        var (spent, reserved) = await StateAsync(SharedKey(budget), cancellationToken).ConfigureAwait(false) ?? (await budget.LoadSpent(cancellationToken).ConfigureAwait(false), 0m);
        return (spent, reserved);
    }

    private string SharedKey(SharedBudget budget) =>
        _prefix + "budget:" + budget.Name + ":" + budget.Currency + ":" + budget.Start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Spent and reserved of a budget's state after removing its expired holds, or null when Redis does not have it.</summary>
    private async Task<(decimal Spent, decimal Reserved)?> StateAsync(string state, CancellationToken cancellationToken)
    {
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisScripts.Status, [state, state + ":holds"], [Micros(_time.GetUtcNow())]).WaitAsync(cancellationToken).ConfigureAwait(false))!;
        Restored();
        return (long)r[0] == -1 ? null : ((decimal)(long)r[1] / Nano, (decimal)(long)r[2] / Nano);
    }

    public void Finish(string keyId, int? tpm, int tokens, BudgetReservation? reservation, IReadOnlyList<decimal>? actual)
    {
        if (reservation is not null && !reservation.TryFinish()) return;
        var countTokens = tpm is not null && tokens > 0;
        if (!countTokens && reservation is null) return;
        var holds = reservation?.Holds ?? [];
        if (holds.Count > 0 && ((Hold)holds[0].State).Id is { } live) _live.TryRemove(live, out _);
        var keys = new RedisKey[1 + 2 * holds.Count];
        keys[0] = LimitNames(keyId).Tpm;
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
        _settlements.Enqueue(new Settlement(keys, args, keyId, tpm, tokens));
        if (Interlocked.CompareExchange(ref _settling, 1, 0) == 0) _ = SettleQueuedAsync();
    }

    private sealed record Settlement(RedisKey[] Keys, RedisValue[] Args, string KeyId, int? Tpm, int Tokens);

    private readonly ConcurrentQueue<Settlement> _settlements = new();
    private int _settling;
    private const int MaxSettlementsPerCall = 64;

    /// <summary>
    /// Settlements go out in batches, off the request path and awaited by nobody: one script call for everything
    /// queued in the last millisecond or while the call before was in flight, instead of a round trip (and a thread-pool
    /// wake-up for its reply) per request. A hold is released at most about a millisecond later, which only makes
    /// admission more careful meanwhile. Lost, a batch's spend is kept for when Redis returns.
    /// </summary>
    private async Task SettleQueuedAsync()
    {
        var batch = new List<Settlement>(MaxSettlementsPerCall);
        while (true)
        {
            await Task.Delay(1).ConfigureAwait(false);
            while (true)
            {
                batch.Clear();
                while (batch.Count < MaxSettlementsPerCall && _settlements.TryDequeue(out var next)) batch.Add(next);
                if (batch.Count == 0) break;
                await SendAsync(batch).ConfigureAwait(false);
            }
            Volatile.Write(ref _settling, 0);
            // A settlement queued after the last dequeue and before the flag was cleared found it set: take it here.
            if (_settlements.IsEmpty || Interlocked.CompareExchange(ref _settling, 1, 0) != 0) return;
        }
    }

    private async Task SendAsync(List<Settlement> batch)
    {
        try
        {
            var keys = new List<RedisKey>(batch.Count * 3);
            var args = new List<RedisValue>(1 + batch.Count * 6) { batch.Count };
            foreach (var s in batch)
            {
                keys.AddRange(s.Keys);
                args.Add((s.Keys.Length - 1) / 2);
                args.AddRange(s.Args);
            }
            await SettleScript.EvaluateAsync(Db, [.. keys], [.. args]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Counted again if it did arrive: an over-count is the safe side of a budget.
            foreach (var s in batch) Unsettled(s.Keys, s.Args, s.Tokens, s.KeyId, s.Tpm);
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
                await SettleScript.EvaluateAsync(Db, [_prefix + "none", state, state + ":holds"], [1, 1, 0, 0, 0, NoHold, nano]).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _unsynced.AddOrUpdate(state, nano, (_, n) => n + nano);
                return;
            }
        }
    }

    /// <summary>Redis did not answer: budgets closed (or open by configuration), limits counted by this instance alone.</summary>
    private AdmissionResult Unavailable(string keyId, int? rpm, int? tpm, IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts, string? reason)
    {
        NoteDown(reason ?? "not connected");
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
            var (state, holdsKey) = BudgetNames(scope, BudgetWindow.For(scope.Budget.Period, now).Start);
            holds.Add((scope, new Hold(state, holdsKey, null), 0m));
        }
        return new AdmissionResult(true, new BudgetReservation(holds), null, default, null, limits, null);
    }

    /// <summary>Logs the start of an outage once.</summary>
    private void NoteDown(string reason)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            LogUnavailable(_logger, reason, _options.FailOpen ? "admitted (FailOpen)" : "refused with 503 budget_store_unavailable");
        }
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
        var (start, reset) = BudgetWindow.For(scope.Budget.Period, _time.GetUtcNow());
        var (spent, reserved) = await StateAsync(StateKey(scope, start), cancellationToken).ConfigureAwait(false)
            ?? (await _loadSpent(scope, start, cancellationToken).ConfigureAwait(false), 0m);
        return (spent, reserved, reset);
    }

    private (RedisKey Rpm, RedisKey Tpm) LimitNames(string keyId)
    {
        if (_limitNames.TryGetValue(keyId, out var names)) return names;
        if (_limitNames.Count >= MaxNames) _limitNames.Clear();
        return _limitNames[keyId] = (_prefix + "rpm:" + keyId, _prefix + "tpm:" + keyId);
    }

    private (string State, string Holds) BudgetNames(BudgetScope scope, DateTimeOffset start)
    {
        var id = (scope, start.ToUnixTimeSeconds());
        if (_budgetNames.TryGetValue(id, out var names)) return names;
        if (_budgetNames.Count >= MaxNames) _budgetNames.Clear();
        var state = StateKey(scope, start);
        return _budgetNames[id] = (state, state + ":holds");
    }

    private string StateKey(BudgetScope scope, DateTimeOffset start) =>
        _prefix + "budget:" + scope.Kind + ":" + scope.Id + ":" + scope.Budget.Currency + ":" + scope.Budget.Period.ToString() + ":"
        + start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static long Micros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static TimeSpan Micros(double us) => TimeSpan.FromTicks((long)Math.Max(0, us) * 10);

    /// <summary>A day after the window ends, so a late settlement still finds it; never for a total budget.</summary>
    private static long ExpireAt(DateTimeOffset? reset) => reset is { } r ? r.AddDays(1).ToUnixTimeMilliseconds() : 0;

    /// <summary>Billionths of a currency unit, rounded against the budget: holds and spend up, the limit down.</summary>
    /// <summary>The largest amount a nano count holds (about 9.2 billion units of a currency).</summary>
    private static readonly decimal MaxUnits = long.MaxValue / (decimal)Nano;

    /// <summary>
    /// An amount in nano units. A limit beyond <see cref="MaxUnits"/> (the admin API takes budgets up to 10^15; older
    /// or hand-written stores may hold more) is as good as none and is clamped: the product overflowed and failed
    /// every request of a key under such a budget.
    /// </summary>
    private static long ToNano(decimal amount, bool up)
    {
        if (amount >= MaxUnits) return long.MaxValue;
        if (amount <= -MaxUnits) return long.MinValue;
        var n = amount * Nano;
        return (long)(up ? decimal.Ceiling(n) : decimal.Floor(n));
    }

    [LoggerMessage(EventId = LogEvents.SharedStateUnavailable, Level = LogLevel.Warning,
        Message = "Redis cannot be used ({Reason}): budgeted keys are {Policy}; rate limits are counted per instance until it returns.")]
    private static partial void LogUnavailable(ILogger logger, string reason, string policy);

    [LoggerMessage(EventId = LogEvents.SharedStateRestored, Level = LogLevel.Information, Message = "Redis answers again: budgets and rate limits are shared again.")]
    private static partial void LogRestored(ILogger logger);

    [LoggerMessage(EventId = LogEvents.SharedStateRebuilt, Level = LogLevel.Information,
        Message = "Budget state for {Budget} loaded into Redis from the ledger: {Spent} {Currency} spent in the current window.")]
    private static partial void LogRebuilt(ILogger logger, string budget, decimal spent, string currency);

    [LoggerMessage(EventId = LogEvents.SharedLimitsRebuilt, Level = LogLevel.Information,
        Message = "Rate limits of key {KeyId} rebuilt from the ledger after Redis lost them: {RpmMs} ms of requests and {TpmMs} ms of tokens still owed")]
    private static partial void LogLimitsRebuilt(ILogger logger, string keyId, long rpmMs, long tpmMs);

    [LoggerMessage(EventId = LogEvents.SharedStateRebuildFailed, Level = LogLevel.Warning,
        Message = "A budget's spend could not be read from the ledger to rebuild its Redis state ({Reason}): the request is refused.")]
    private static partial void LogRebuildFailed(ILogger logger, string reason);
}
