using Sanjia.Abstractions;

namespace Sanjia.Core.Metering;

/// <summary>
/// Spend already in the ledger, including rows still on their way to the store: budgets (keys, teams, shadows)
/// read their window's spend here, so what was recorded just before is never missed.
/// </summary>
public sealed class LedgerSpend(JournaledLedger ledger, ISpendSource spend)
{
    /// <summary>Sum of priced cost in <paramref name="currency"/> for a key or team (<paramref name="scope"/> = <c>key</c> or <c>team</c>) since a time.</summary>
    public async Task<decimal> SpentSinceAsync(string scope, string id, string currency, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await ledger.FlushAsync(cancellationToken).ConfigureAwait(false);
        return await spend.SpentSinceAsync(scope, id, currency, since, cancellationToken).ConfigureAwait(false);
    }
}
