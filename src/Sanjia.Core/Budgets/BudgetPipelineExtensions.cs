using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Budgets;

public static class BudgetPipelineExtensions
{
    /// <summary>The key policy shared by chat and embeddings.</summary>
    public static BudgetPolicy CreateBudgetPolicy(VirtualKeyCache keys, Pricer pricer, IBudgetTracker budgets, IRateLimiter limiter, SanjiaOptions options, TimeProvider time) =>
        new(keys, pricer, new CurrencyConverter(options.Metering), budgets, limiter, options.Metering, time);

    /// <summary>Key policy, rate limits and budget reservations (see <see cref="BudgetHandler"/>); add it before routing.</summary>
    public static ChatPipelineBuilder UseBudgets(this ChatPipelineBuilder builder, VirtualKeyCache keys, Pricer pricer, IBudgetTracker budgets,
        IRateLimiter limiter, SanjiaOptions options, TimeProvider time) =>
        builder.UseBudgets(CreateBudgetPolicy(keys, pricer, budgets, limiter, options, time));

    public static ChatPipelineBuilder UseBudgets(this ChatPipelineBuilder builder, BudgetPolicy policy) =>
        builder.Use(inner => new BudgetHandler(inner, policy));
}
