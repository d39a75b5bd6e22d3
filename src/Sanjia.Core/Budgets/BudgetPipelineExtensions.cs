using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Budgets;

public static class BudgetPipelineExtensions
{
    /// <summary>Key policy, rate limits and budget reservations (see <see cref="BudgetHandler"/>); add it before routing.</summary>
    public static ChatPipelineBuilder UseBudgets(this ChatPipelineBuilder builder, VirtualKeyCache keys, Pricer pricer, IBudgetTracker budgets,
        IRateLimiter limiter, SanjiaOptions options, TimeProvider time) =>
        builder.Use(inner => new BudgetHandler(inner, keys, pricer, new CurrencyConverter(options.Metering), budgets, limiter, options.Metering, time));
}
