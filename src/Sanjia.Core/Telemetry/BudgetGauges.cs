using System.Diagnostics.Metrics;
using Sanjia.Abstractions;
using Sanjia.Core.Budgets;
using Sanjia.Core.Keys;

namespace Sanjia.Core.Telemetry;

/// <summary>
/// Budget used against budget, per key and team with a budget (<c>sanjia.budget.used</c>, <c>sanjia.budget.limit</c>),
/// read from the budget tracker when the metrics are collected, never on the request path. At most
/// <c>Sanjia:Metrics:MaxKeyLabels</c> keys and as many teams: the nearest to their limit (used over limit) first.
/// </summary>
public sealed class BudgetGauges(VirtualKeyCache keys, IBudgetTracker budgets, int max)
{
    private static readonly KeyValuePair<string, object?> KeyScope = new(GenAi.BudgetScope, "key");
    private static readonly KeyValuePair<string, object?> TeamScope = new(GenAi.BudgetScope, "team");

    internal IEnumerable<Measurement<double>> Used() => Read().Select(b => new Measurement<double>((double)b.Used, b.Tags));

    internal IEnumerable<Measurement<double>> Limit() => Read().Select(b => new Measurement<double>((double)b.Scope.Budget.Amount, b.Tags));

    private List<(BudgetScope Scope, decimal Used, KeyValuePair<string, object?>[] Tags)> Read()
    {
        var result = new List<(BudgetScope, decimal, KeyValuePair<string, object?>[])>();
        Add(result, keys.ActiveKeys.Where(k => k.Budget is not null).Select(k => new BudgetScope("key", k.Id, k.Budget!)), KeyScope);
        Add(result, keys.Teams.Where(t => t.Budget is not null).Select(t => new BudgetScope("team", t.Id, t.Budget!)), TeamScope);
        return result;
    }

    private void Add(List<(BudgetScope, decimal, KeyValuePair<string, object?>[])> result, IEnumerable<BudgetScope> scopes, KeyValuePair<string, object?> kind)
    {
        var read = new List<(BudgetScope Scope, decimal Used)>();
        foreach (var scope in scopes)
        {
            // The in-memory tracker answers at once; a shared one makes a round trip, at collection time only.
            var status = budgets.StatusAsync(scope, CancellationToken.None);
            var (spent, _, _) = status.IsCompleted ? status.Result : status.AsTask().GetAwaiter().GetResult();
            read.Add((scope, spent));
        }
        foreach (var (scope, used) in read.OrderByDescending(r => r.Scope.Budget.Amount > 0 ? r.Used / r.Scope.Budget.Amount : 0).Take(max))
        {
            result.Add((scope, used,
            [
                kind,
                new(GenAi.BudgetId, scope.Id),
                new(GenAi.Currency, scope.Budget.Currency),
                new(GenAi.BudgetPeriod, scope.Budget.Period.ToString().ToLowerInvariant()),
            ]));
        }
    }
}
