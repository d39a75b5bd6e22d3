using System.Collections.Concurrent;

namespace Sanjia.Core.Budgets;

/// <summary>
/// Budgets for one instance. Each (scope, window, currency) starts from what the ledger already holds for that
/// window (so a restart does not reset spend), then moves only through reservations. One lock makes a
/// reservation over a key and its team all-or-nothing; the work under it is a few additions.
/// </summary>
public sealed class InMemoryBudgetTracker(
    Func<BudgetScope, DateTimeOffset, CancellationToken, Task<decimal>> loadSpent, TimeProvider time) : IBudgetTracker
{
    private sealed class State
    {
        public decimal Spent;
        public decimal Reserved;
    }

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, Lazy<Task<State>>> _states = new(StringComparer.Ordinal);

    private async ValueTask<(State State, DateTimeOffset? Reset)> StateFor(BudgetScope scope, CancellationToken cancellationToken)
    {
        var (start, reset) = BudgetWindow.For(scope.Budget.Period, time.GetUtcNow());
        var id = $"{scope.Kind}:{scope.Id}:{scope.Budget.Currency}:{scope.Budget.Period}:{start.UtcTicks}";
        var lazy = _states.GetOrAdd(id, _ => new Lazy<Task<State>>(async () =>
            new State { Spent = await loadSpent(scope, start, CancellationToken.None).ConfigureAwait(false) }));
        try
        {
            return (await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false), reset);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            _states.TryRemove(new KeyValuePair<string, Lazy<Task<State>>>(id, lazy)); // retry the load next time
            throw;
        }
    }

    public async ValueTask<ReserveResult> TryReserveAsync(IReadOnlyList<(BudgetScope Scope, decimal Amount)> amounts, CancellationToken cancellationToken)
    {
        var states = new (State State, DateTimeOffset? Reset)[amounts.Count];
        for (var i = 0; i < amounts.Count; i++)
        {
            states[i] = await StateFor(amounts[i].Scope, cancellationToken).ConfigureAwait(false);
        }
        lock (_lock)
        {
            for (var i = 0; i < amounts.Count; i++)
            {
                var (scope, amount) = amounts[i];
                var s = states[i].State;
                if (s.Spent + s.Reserved + amount > scope.Budget.Amount)
                {
                    return new ReserveResult(null, scope, Math.Max(0, scope.Budget.Amount - s.Spent - s.Reserved), states[i].Reset);
                }
            }
            var holds = new List<(BudgetScope, object, decimal)>(amounts.Count);
            for (var i = 0; i < amounts.Count; i++)
            {
                states[i].State.Reserved += amounts[i].Amount;
                holds.Add((amounts[i].Scope, states[i].State, amounts[i].Amount));
            }
            return new ReserveResult(new BudgetReservation(holds), null, 0, null);
        }
    }

    public void Settle(BudgetReservation reservation, IReadOnlyList<decimal> actual)
    {
        if (!reservation.TryFinish()) return;
        lock (_lock)
        {
            for (var i = 0; i < reservation.Holds.Count; i++)
            {
                var (_, state, amount) = reservation.Holds[i];
                var s = (State)state;
                s.Reserved -= amount;
                s.Spent += actual[i];
            }
        }
    }

    public void Release(BudgetReservation reservation)
    {
        if (!reservation.TryFinish()) return;
        lock (_lock)
        {
            foreach (var (_, state, amount) in reservation.Holds)
            {
                ((State)state).Reserved -= amount;
            }
        }
    }

    public async ValueTask<(decimal Spent, decimal Reserved, DateTimeOffset? ResetsAt)> StatusAsync(BudgetScope scope, CancellationToken cancellationToken)
    {
        var (s, reset) = await StateFor(scope, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return (s.Spent, s.Reserved, reset);
        }
    }
}
