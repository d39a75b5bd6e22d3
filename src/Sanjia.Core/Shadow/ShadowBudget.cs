using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Shadow;

/// <summary>A hold on a shadow budget: settled to the actual cost or released, once.</summary>
public sealed class ShadowHold(decimal amount, Budgets.BudgetReservation? shared = null)
{
    internal decimal Amount { get; } = amount;
    /// <summary>The hold in the shared store, when the budget is shared (Redis).</summary>
    internal Budgets.BudgetReservation? Shared { get; } = shared;
    private int _done;
    internal bool TryFinish() => Interlocked.Exchange(ref _done, 1) == 0;
}

/// <summary>Spent and held amounts of one shadow budget in its current window.</summary>
public sealed record ShadowBudgetStatus(decimal Limit, string Currency, string Period, decimal Spent, decimal Reserved, DateTimeOffset? ResetsAt);

/// <summary>
/// The spend cap of one alias's shadow (<c>Sanjia:Shadow:&lt;alias&gt;:Budget</c>): before each shadow call the
/// worst-case cost of the model it calls (every deployment, at its price through the <see cref="Pricer"/>) is held,
/// refused when spent + held + it would pass the limit, and the hold is settled to the actual cost afterwards. The
/// amount spent in the current window is read from the ledger (rows under the key <c>shadow:&lt;alias&gt;</c>) the
/// first time the window is used (<see cref="SyncAsync"/>), so a restart does not forget what was spent; within the
/// window it is counted in memory. Without a ledger reader a <c>total</c> budget counts from start-up. With a shared
/// store (<see cref="Budgets.ISharedBudgets"/>, Redis) the holds and spend are every instance's, loaded from the ledger
/// by the store when it does not have them; a store that cannot answer refuses the call (a shadow is a sample).
/// </summary>
public sealed class ShadowBudget
{
    private readonly Lock _lock = new();
    private readonly ShadowBudgetOptions _options;
    private readonly ShadowBudgetPeriod _period;
    private readonly bool _allowUnpriced;
    private readonly Pricer _pricer;
    private readonly CurrencyConverter _currencies;
    private readonly TimeProvider _time;
    private readonly Func<DateTimeOffset, CancellationToken, Task<decimal>>? _loadSpent;
    private readonly Budgets.ISharedBudgets? _shared;
    private readonly string _name;
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private DateTimeOffset _loadedWindow = DateTimeOffset.MinValue;
    private decimal _spent;
    private decimal _reserved;

    /// <param name="loadSpent">Spend already in the ledger since a time, in this budget's currency (null: memory only).</param>
    /// <param name="shared">Holds shared by every instance (null: this instance's memory).</param>
    /// <param name="name">The budget's name in the shared store (the shadow's key id).</param>
    public ShadowBudget(ShadowBudgetOptions options, bool allowUnpriced, Pricer pricer, CurrencyConverter currencies, TimeProvider time,
        Func<DateTimeOffset, CancellationToken, Task<decimal>>? loadSpent = null, Budgets.ISharedBudgets? shared = null, string name = "shadow")
    {
        _loadSpent = loadSpent;
        _shared = shared;
        _name = name;
        _options = options;
        _period = ShadowBudgetOptions.ParsePeriod(options.Period) ?? ShadowBudgetPeriod.Total;
        _allowUnpriced = allowUnpriced;
        _pricer = pricer;
        _currencies = currencies;
        _time = time;
    }

    public string Currency => _options.Currency.ToUpperInvariant();

    /// <summary>
    /// Once per window, before the first hold in it: takes the window's spend from the ledger (what this and earlier
    /// processes recorded). A settle racing the read may count one call twice, never zero times.
    /// </summary>
    public async ValueTask SyncAsync(CancellationToken cancellationToken)
    {
        if (_loadSpent is null || _shared is not null) return;
        var start = Start(_time.GetUtcNow());
        lock (_lock)
        {
            if (_loadedWindow == start) return;
        }
        var spent = await _loadSpent(start, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (_loadedWindow == start) return;
            Roll();
            if (_windowStart == start)
            {
                _spent = Math.Max(_spent, spent);
                _loadedWindow = start;
            }
        }
    }

    /// <summary>Why a call may not be held: the budget is spent, or a deployment has no usable price.</summary>
    public enum Refusal { None, Budget, Unpriced }

    /// <summary>
    /// Holds the most <paramref name="model"/> can cost (<paramref name="worstCase"/> prices one deployment in its
    /// price's currency), or says why not. Unpriced deployments (or ones priced in a currency with no configured rate)
    /// count as zero only with <c>AllowUnpriced</c>.
    /// </summary>
    public (ShadowHold? Hold, Refusal Refusal) TryReserve(ResolvedModel model, Func<ModelPrice, decimal> worstCase)
    {
        if (!TryWorstCase(model, worstCase, out var worst)) return (null, Refusal.Unpriced);
        lock (_lock)
        {
            Roll();
            if (_spent + _reserved + worst > _options.Amount) return (null, Refusal.Budget);
            _reserved += worst;
        }
        return (new ShadowHold(worst), Refusal.None);
    }

    /// <summary>As <see cref="TryReserve"/>, in the shared store when there is one (a round trip to it).</summary>
    public async ValueTask<(ShadowHold? Hold, Refusal Refusal)> TryReserveAsync(ResolvedModel model, Func<ModelPrice, decimal> worstCase, CancellationToken cancellationToken)
    {
        if (_shared is null) return TryReserve(model, worstCase);
        if (!TryWorstCase(model, worstCase, out var worst)) return (null, Refusal.Unpriced);
        var hold = await _shared.TryHoldAsync(Shared(), worst, cancellationToken).ConfigureAwait(false);
        return hold is null ? (null, Refusal.Budget) : (new ShadowHold(worst, hold), Refusal.None);
    }

    /// <summary>The budget as the shared store knows it: this window, read from the ledger when the store lacks it.</summary>
    private Budgets.SharedBudget Shared()
    {
        var start = Start(_time.GetUtcNow());
        return new Budgets.SharedBudget(_name, Currency, _options.Amount, start, End(start),
            ct => _loadSpent is null ? Task.FromResult(0m) : _loadSpent(start, ct));
    }

    /// <summary>The most <paramref name="model"/> can cost in this budget's currency, or false when a deployment has no usable price.</summary>
    private bool TryWorstCase(ResolvedModel model, Func<ModelPrice, decimal> worstCase, out decimal worst)
    {
        worst = 0m;
        foreach (var d in model.Deployments)
        {
            if (_pricer.PriceOf(d) is { } price && _currencies.TryConvert(worstCase(price), price.Currency, Currency, out var amount))
            {
                worst = Math.Max(worst, amount);
            }
            else if (!_allowUnpriced)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Replaces the hold by the cost of the metered rows (each at its deployment's price).</summary>
    public void Settle(ShadowHold hold, IEnumerable<(Deployment? Deployment, TokenUsage Usage)> rows)
    {
        var actual = 0m;
        foreach (var (d, usage) in rows)
        {
            if (usage.Total == 0) continue;
            var cost = _pricer.CostOf(d, usage);
            if (cost.Amount is { } a && _currencies.TryConvert(a, cost.Currency!, Currency, out var c)) actual += c;
        }
        if (!hold.TryFinish()) return;
        if (hold.Shared is { } shared)
        {
            _shared!.Finish(shared, actual);
            return;
        }
        lock (_lock)
        {
            Roll();
            _reserved = Math.Max(0, _reserved - hold.Amount);
            _spent += actual;
        }
    }

    public void Release(ShadowHold hold)
    {
        if (!hold.TryFinish()) return;
        if (hold.Shared is { } shared)
        {
            _shared!.Finish(shared, null);
            return;
        }
        lock (_lock) _reserved = Math.Max(0, _reserved - hold.Amount);
    }

    /// <summary>As <see cref="Status"/>, from the shared store when there is one.</summary>
    public async ValueTask<ShadowBudgetStatus> StatusAsync(CancellationToken cancellationToken)
    {
        if (_shared is null) return Status();
        var budget = Shared();
        var (spent, reserved) = await _shared.StatusAsync(budget, cancellationToken).ConfigureAwait(false);
        return new ShadowBudgetStatus(_options.Amount, Currency, _period.ToString().ToLowerInvariant(), spent, reserved, budget.End);
    }

    public ShadowBudgetStatus Status()
    {
        lock (_lock)
        {
            Roll();
            return new ShadowBudgetStatus(_options.Amount, Currency, _period.ToString().ToLowerInvariant(), _spent, _reserved, End(_windowStart));
        }
    }

    /// <summary>A new window starts with nothing spent (holds taken before stay until settled).</summary>
    private void Roll()
    {
        var start = Start(_time.GetUtcNow());
        if (start != _windowStart)
        {
            _windowStart = start;
            _spent = 0;
        }
    }

    private DateTimeOffset Start(DateTimeOffset now)
    {
        var u = now.UtcDateTime;
        return _period switch
        {
            ShadowBudgetPeriod.Hourly => new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero),
            ShadowBudgetPeriod.Daily => new DateTimeOffset(u.Date, TimeSpan.Zero),
            ShadowBudgetPeriod.Monthly => new DateTimeOffset(u.Year, u.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => DateTimeOffset.UnixEpoch,
        };
    }

    private DateTimeOffset? End(DateTimeOffset start) => _period switch
    {
        ShadowBudgetPeriod.Hourly => start.AddHours(1),
        ShadowBudgetPeriod.Daily => start.AddDays(1),
        ShadowBudgetPeriod.Monthly => start.AddMonths(1),
        _ => null,
    };
}
