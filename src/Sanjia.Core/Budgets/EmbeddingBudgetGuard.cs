using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;
using Sanjia.Core.Tokens;

namespace Sanjia.Core.Budgets;

/// <summary>
/// The same key policy as chat (<see cref="BudgetPolicy"/>) for <c>/v1/embeddings</c>: allowed models, RPM/TPM, and a
/// reservation of the inputs' tokens (o200k count × 1.5 head-room) at the embedding model's input price, settled to
/// the metered usage or released when the call fails.
/// </summary>
public sealed class EmbeddingBudgetGuard(BudgetPolicy policy)
{
    private const decimal InputMargin = 1.5m;

    public async ValueTask<(BudgetAdmission? Admission, GatewayError? Error)> AdmitAsync(
        Caller caller, ResolvedModel model, EmbeddingRequest request, CancellationToken cancellationToken)
    {
        if (caller.KeyId is not { } keyId || caller.IsMaster)
        {
            return (null, null);
        }
        var tokens = (int)Math.Ceiling(request.Inputs.Sum(TokenCounter.Count) * InputMargin);
        return await policy.AdmitAsync(keyId, model, price => CostCalculator.WorstCase(price, tokens, 0), cancellationToken).ConfigureAwait(false);
    }

    public void Finish(BudgetAdmission? admission, Deployment? used, EmbeddingOutcome outcome)
    {
        if (admission is null) return;
        if (outcome.Result is { } result) policy.Settle(admission, [(used, result.Usage)]);
        else policy.Release(admission);
    }

    public void Abandon(BudgetAdmission? admission)
    {
        if (admission is not null) policy.Release(admission);
    }
}
