using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;

namespace Sanjia.Core.Budgets;

public static class BudgetPipelineExtensions
{
    /// <summary>The key policy shared by every kind of call.</summary>
    /// <param name="store">A shared store taking limits and holds in one step (Redis); null: <paramref name="limiter"/> and <paramref name="budgets"/>.</param>
    public static BudgetPolicy CreateBudgetPolicy(VirtualKeyCache keys, Pricer pricer, IBudgetTracker budgets, IRateLimiter limiter, SanjiaOptions options, TimeProvider time,
        IAdmissionStore? store = null) =>
        new(keys, pricer, new CurrencyConverter(options.Metering), budgets, limiter, options.Metering, time, store);

    /// <summary>Key policy, rate limits and budget reservations (see <see cref="BudgetHandler{TKind, TContext, TOutcome}"/>); add it before routing.</summary>
    public static PipelineBuilder UseBudgets(this PipelineBuilder builder, VirtualKeyCache keys, Pricer pricer, IBudgetTracker budgets,
        IRateLimiter limiter, SanjiaOptions options, TimeProvider time) =>
        builder.UseBudgets(CreateBudgetPolicy(keys, pricer, budgets, limiter, options, time));

    public static PipelineBuilder UseBudgets(this PipelineBuilder builder, BudgetPolicy policy) => builder.Use(new BudgetStage(policy));

    private sealed class BudgetStage(BudgetPolicy policy) : IPipelineStage
    {
        public CallHandler<TContext, TOutcome> Wrap<TKind, TContext, TOutcome>(CallHandler<TContext, TOutcome> inner)
            where TKind : struct, ICallKind<TContext, TOutcome>
            where TContext : CallContext =>
            new BudgetHandler<TKind, TContext, TOutcome>(inner, policy);
    }
}
