using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Rollouts;

namespace Sanjia.Core.Tests.Routing;

/// <summary>The rollout controller's decision rules (docs/routing.md, "Gradual rollouts"), on figures given directly.</summary>
public sealed class RolloutJudgeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static AliasRollout Rollout(int stepsTaken = 1, double dwell = 60, double? latencyRatio = null)
    {
        var plan = new RolloutPlan([5, 25, 100], MinRequestsPerStep: 50, DwellSeconds: dwell, MaxErrorRateIncrease: 0.05, latencyRatio);
        var r = new AliasRollout("chat", "b", "m2", plan, T0) { Steps = [new RolloutStep(5, T0)] };
        for (var i = 1; i < stepsTaken; i++) r = r.Decide(RolloutController.Advance, "ok", T0, null, null);
        return r;
    }

    private static RolloutFigures F(int requests, int failures, double? p50 = 100) => new(requests, failures, p50);

    [Fact]
    public void Nothing_is_decided_before_the_minimum_sample_even_for_a_failing_candidate()
    {
        Assert.Null(RolloutController.Judge(Rollout(), F(49, 49), F(1000, 0), T0.AddHours(1)));
    }

    [Fact]
    public void More_failures_than_the_margin_roll_back_at_once_without_waiting_for_the_dwell()
    {
        var decision = RolloutController.Judge(Rollout(), F(100, 8), F(1000, 20), T0.AddSeconds(1));
        Assert.Equal(RolloutController.Rollback, decision?.Decision);
        Assert.Contains("8.0 %", decision?.Reason);
        // 2 % + 5 points = 7 %: at exactly 7 % the candidate is within the guard.
        Assert.Null(RolloutController.Judge(Rollout(), F(100, 7), F(1000, 20), T0.AddSeconds(1)));
    }

    [Fact]
    public void A_slower_median_rolls_back_only_when_the_latency_guard_is_set()
    {
        Assert.Equal(RolloutController.Rollback, RolloutController.Judge(Rollout(latencyRatio: 1.5), F(100, 0, 200), F(100, 0, 100), T0)?.Decision);
        Assert.Null(RolloutController.Judge(Rollout(latencyRatio: 1.5), F(100, 0, 140), F(100, 0, 100), T0));
        Assert.Null(RolloutController.Judge(Rollout(), F(100, 0, 200), F(100, 0, 100), T0));
    }

    [Fact]
    public void A_step_within_the_guard_advances_after_its_dwell_and_the_last_one_completes()
    {
        Assert.Null(RolloutController.Judge(Rollout(), F(100, 0), F(100, 0), T0.AddSeconds(59)));
        Assert.Equal(RolloutController.Advance, RolloutController.Judge(Rollout(), F(100, 0), F(100, 0), T0.AddSeconds(60))?.Decision);
        Assert.Equal(RolloutController.Complete, RolloutController.Judge(Rollout(stepsTaken: 3), F(100, 0), F(0, 0, null), T0.AddSeconds(60))?.Decision);
    }

    [Fact]
    public void Each_decision_is_the_next_version_and_a_completed_rollout_leaves_its_promotion()
    {
        var r = Rollout();
        var advanced = r.Decide(RolloutController.Advance, "ok", T0.AddMinutes(1), F(50, 0), F(900, 1));
        Assert.Equal(r.Version + 1, advanced.Version);
        Assert.Equal(25, advanced.Percent);
        Assert.Equal(T0.AddMinutes(1), advanced.Steps[0].EndedAt);
        Assert.Equal(T0.AddMinutes(1), advanced.Steps[1].StartedAt);
        Assert.Null(advanced.Promotion);

        var rolledBack = advanced.Decide(RolloutController.Rollback, "worse", T0.AddMinutes(2), F(50, 10), F(900, 1));
        Assert.Equal(0, rolledBack.Percent);
        Assert.False(rolledBack.IsRunning);
        Assert.Null(rolledBack.Promotion);

        var done = Rollout(stepsTaken: 3).Decide(RolloutController.Complete, "ok", T0.AddMinutes(3), null, null);
        Assert.Equal(new AliasOverride("chat", "b", "m2", T0.AddMinutes(3)), done.Promotion);
        Assert.Equal(done, AliasRollouts.FromJson(AliasRollouts.ToJson(done))! with { Steps = done.Steps, Plan = done.Plan });
    }

    [Fact]
    public void Figures_count_what_the_sla_view_counts()
    {
        LedgerEntry Row(int status, double latency, int attempt = 1, string? cacheOf = null) => new()
        {
            RequestId = Guid.NewGuid().ToString("N"), Timestamp = T0, Endpoint = "chat", Model = "chat", Deployment = "b/m2", Status = status,
            LatencyMs = latency, Attempt = attempt, CacheOf = cacheOf,
        };
        var f = RolloutController.Figures([Row(200, 10), Row(200, 30), Row(200, 20), Row(502, 5), Row(504, 9000), Row(429, 1), Row(400, 1), Row(0, 1),
            Row(200, 1, cacheOf: "x"), Row(200, 500, attempt: 2)]);
        Assert.Equal(6, f.Requests); // 4 answered (one after a failed attempt) and 2 vendor failures; 4xx, in flight and cache hits left out
        Assert.Equal(2, f.VendorFailures);
        Assert.Equal(20, f.LatencyP50Ms); // first-attempt successes only: 10, 20, 30
    }
}
