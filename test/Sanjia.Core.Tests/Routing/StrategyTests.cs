using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Routing;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Tests.Routing;

public class StrategyTests
{
    private static readonly FakeTimeProvider Time = new();

    private static RouteCandidate Candidate(string name, int index, DeploymentSettings? settings = null) =>
        new(new Deployment(new ScriptedProvider(name), "m") { Settings = settings ?? DeploymentSettings.Default }, new DeploymentState(name + "/m", Time), index);

    private static RouteRequest Request(int promptTokens = 100, int? maxTokens = null) => new(
        ChatRequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(
            $$"""{"model":"x","messages":[{"role":"user","content":"hi"}]{{(maxTokens is { } m ? $",\"max_tokens\":{m}" : "")}}}""")).Request!,
        promptTokens);

    private static string[] Ids(IEnumerable<RouteCandidate> c) => [.. c.Select(x => x.Deployment.Provider.Name)];

    [Fact]
    public void Priority_orders_by_priority_then_listed_order()
    {
        var ordered = new PriorityStrategy().Order(
            [Candidate("a", 0, new() { Priority = 2 }), Candidate("b", 1, new() { Priority = 1 }), Candidate("c", 2, new() { Priority = 1 })], Request());
        Assert.Equal(["b", "c", "a"], Ids(ordered));
    }

    [Fact]
    public void Weighted_picks_by_cumulative_weight_and_keeps_zero_weight_as_last_resort()
    {
        RouteCandidate[] c = [Candidate("a", 0, new() { Weight = 1 }), Candidate("b", 1, new() { Weight = 3 }), Candidate("z", 2, new() { Weight = 0 })];
        // 0.5 × 4 = 2 falls in b's share [1, 4); then only a is left.
        Assert.Equal(["b", "a", "z"], Ids(new WeightedStrategy(new ScriptedRandom(0.5)).Order(c, Request())));
        // 0.1 × 4 = 0.4 falls in a's share [0, 1).
        Assert.Equal(["a", "b", "z"], Ids(new WeightedStrategy(new ScriptedRandom(0.1)).Order(c, Request())));
    }

    [Fact]
    public void Weighted_distribution_matches_the_weights_within_chi_square_tolerance()
    {
        double[] weights = [1, 2, 7];
        RouteCandidate[] c = [.. weights.Select((w, i) => Candidate("d" + i, i, new() { Weight = w }))];
        var strategy = new WeightedStrategy(new SeededRandom(20240601));
        var counts = new int[3];
        const int draws = 20_000;
        for (var n = 0; n < draws; n++)
        {
            counts[strategy.Order(c, Request())[0].Index]++;
        }
        var chiSquare = 0.0;
        for (var i = 0; i < 3; i++)
        {
            var expected = draws * weights[i] / weights.Sum();
            chiSquare += Math.Pow(counts[i] - expected, 2) / expected;
        }
        // 2 degrees of freedom: 13.8 is the 0.1% critical value.
        Assert.True(chiSquare < 13.8, $"counts {string.Join(", ", counts)} give chi-square {chiSquare:0.00}");
    }

    [Fact]
    public void Least_busy_prefers_fewer_requests_in_flight()
    {
        RouteCandidate[] c = [Candidate("a", 0), Candidate("b", 1), Candidate("c", 2)];
        c[0].State.TryAcquire(null);
        c[0].State.TryAcquire(null);
        c[2].State.TryAcquire(null);
        Assert.Equal(["b", "c", "a"], Ids(new LeastBusyStrategy().Order(c, Request())));
    }

    [Fact]
    public void Lowest_latency_measures_unknown_deployments_first_then_prefers_the_fastest_moving_average()
    {
        RouteCandidate[] c = [Candidate("slow", 0), Candidate("fast", 1), Candidate("new", 2)];
        c[0].State.RecordLatency(TimeSpan.FromMilliseconds(900));
        c[1].State.RecordLatency(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["new", "fast", "slow"], Ids(new LowestLatencyStrategy().Order(c, Request())));

        // One slow answer moves the average, but not past a consistently slower deployment.
        c[1].State.RecordLatency(TimeSpan.FromMilliseconds(1000));
        Assert.Equal(370, c[1].State.LatencyEwmaMs!.Value, precision: 3);
        c[2].State.RecordLatency(TimeSpan.FromMilliseconds(500));
        Assert.Equal(["fast", "new", "slow"], Ids(new LowestLatencyStrategy().Order(c, Request())));
    }

    [Fact]
    public void Lowest_cost_estimates_the_request_from_prices_and_puts_unpriced_last()
    {
        RouteCandidate[] c =
        [
            Candidate("unpriced", 0),
            Candidate("cheap-in", 1, new() { InputPricePerMillion = 0.1m, OutputPricePerMillion = 10m }),
            Candidate("cheap-out", 2, new() { InputPricePerMillion = 5m, OutputPricePerMillion = 1m }),
        ];
        var strategy = new LowestCostStrategy(new ConfiguredPriceLookup());
        // Long prompt, short answer: input price dominates.
        Assert.Equal(["cheap-in", "cheap-out", "unpriced"], Ids(strategy.Order(c, Request(promptTokens: 10_000, maxTokens: 10))));
        // Short prompt, long answer: output price dominates.
        Assert.Equal(["cheap-out", "cheap-in", "unpriced"], Ids(strategy.Order(c, Request(promptTokens: 10, maxTokens: 4000))));
    }

    [Fact]
    public void Power_of_two_takes_the_less_busy_of_two_random_picks_and_the_other_as_first_fallback()
    {
        RouteCandidate[] c = [Candidate("a", 0), Candidate("b", 1), Candidate("c", 2), Candidate("d", 3)];
        c[3].State.TryAcquire(null);
        // Draws pick index 3 (0.8 × 4) and then index 1 (0.4 × 3 = 1, below 3 so unchanged).
        var ordered = new PowerOfTwoStrategy(new ScriptedRandom(0.8, 0.4)).Order(c, Request());
        Assert.Equal(["b", "d", "a", "c"], Ids(ordered));
    }

    [Fact]
    public void Every_built_in_strategy_is_registered_by_name()
    {
        var names = new RoutingStrategies(RoutingStrategies.BuiltIn(new SeededRandom(1), new ConfiguredPriceLookup())).Names;
        Assert.Equal(["least-busy", "lowest-cost", "lowest-latency", "power-of-two", "priority", "weighted"], names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Unknown_strategies_and_bad_deployment_settings_are_reported_with_their_paths()
    {
        var options = new SanjiaOptions();
        options.Models["chat"] = new AliasOptions
        {
            Strategy = "fastest",
            Deployments = [new DeploymentOptions { Provider = "a", Model = "m", Weight = -1, MaxConcurrentRequests = 0 }],
        };
        var errors = new ConfigErrors();
        RoutingValidator.Validate(options, ["priority", "weighted"], errors);
        Assert.Contains(errors.Errors, e => e.StartsWith("Sanjia:Models:chat:Strategy: unknown strategy 'fastest'", StringComparison.Ordinal));
        Assert.Contains(errors.Errors, e => e.StartsWith("Sanjia:Models:chat:Deployments:0:Weight", StringComparison.Ordinal));
        Assert.Contains(errors.Errors, e => e.StartsWith("Sanjia:Models:chat:Deployments:0:MaxConcurrentRequests", StringComparison.Ordinal));
    }
}
