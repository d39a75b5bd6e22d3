using Microsoft.Extensions.Time.Testing;
using Sanjia.Core.Configuration;
using Sanjia.Core.Routing.Health;

namespace Sanjia.Core.Tests.Routing;

public class CircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly HealthOptions _options = new() { ConsecutiveFailures = 3, ErrorRateThreshold = 0.5, MinimumRequests = 6, WindowSeconds = 10, BreakSeconds = 30 };

    [Fact]
    public void Opens_after_consecutive_failures_and_lets_one_probe_through_after_the_break()
    {
        var breaker = new CircuitBreaker(_time);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(breaker.TryEnter(out _));
            breaker.OnFailure(_options, isProbe: false);
        }
        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.False(breaker.TryEnter(out _));

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        Assert.True(breaker.TryEnter(out var probe));
        Assert.True(probe);
        Assert.False(breaker.TryEnter(out _)); // only one probe at a time

        breaker.OnSuccess(probe);
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.True(breaker.TryEnter(out var normal));
        Assert.False(normal);
    }

    [Fact]
    public void A_failed_probe_opens_it_again_and_an_abandoned_probe_frees_the_slot()
    {
        var breaker = new CircuitBreaker(_time);
        for (var i = 0; i < 3; i++) breaker.OnFailure(_options, isProbe: false);
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.True(breaker.TryEnter(out var probe));
        breaker.OnAbandoned(probe); // the caller left: no verdict
        Assert.True(breaker.TryEnter(out probe));
        breaker.OnFailure(_options, probe);
        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(30), breaker.OpenUntil);
    }

    [Fact]
    public void Ejects_on_error_rate_over_the_window_without_consecutive_failures()
    {
        var breaker = new CircuitBreaker(_time);
        // Alternating failures never reach 3 in a row, but half of 6 requests failed.
        for (var i = 0; i < 6; i++)
        {
            if (i % 2 == 0) breaker.OnSuccess(false); else breaker.OnFailure(_options, false);
        }
        Assert.Equal(BreakerState.Open, breaker.State);
    }

    [Fact]
    public void Old_results_leave_the_window()
    {
        var breaker = new CircuitBreaker(_time);
        for (var i = 0; i < 5; i++)
        {
            if (i % 2 == 0) breaker.OnFailure(_options, false); else breaker.OnSuccess(false);
        }
        _time.Advance(TimeSpan.FromSeconds(11));
        breaker.OnSuccess(false);
        breaker.OnFailure(_options, false);
        Assert.Equal(BreakerState.Closed, breaker.State);
    }

    [Fact]
    public void Opening_and_closing_are_reported_once_each_and_what_a_peer_reports_is_applied_without_being_reported_again()
    {
        var reported = new List<(bool Opened, DateTimeOffset At)>();
        var breaker = new CircuitBreaker(_time, (opened, at) => reported.Add((opened, at)));
        breaker.OnSuccess(isProbe: false);
        for (var i = 0; i < 5; i++) breaker.OnFailure(_options, isProbe: false); // opens at the third; the others change nothing
        Assert.Equal([(true, _time.GetUtcNow().AddSeconds(30))], reported);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(breaker.TryEnter(out var probe));
        breaker.OnSuccess(probe);
        Assert.Equal((false, _time.GetUtcNow()), reported[^1]);
        Assert.Equal(2, reported.Count);

        // A peer's opening keeps this one away until its end, then this instance probes by itself.
        breaker.OpenFromPeer(_time.GetUtcNow().AddSeconds(10));
        Assert.False(breaker.TryEnter(out _));
        Assert.Equal(_time.GetUtcNow().AddSeconds(10), breaker.OpenUntil);
        breaker.OpenFromPeer(_time.GetUtcNow().AddSeconds(5)); // an earlier end does not shorten it
        Assert.Equal(_time.GetUtcNow().AddSeconds(10), breaker.OpenUntil);
        // A peer's close from before this breaker opened is stale; one from after closes it.
        breaker.CloseFromPeer(_time.GetUtcNow().AddSeconds(-1));
        Assert.Equal(BreakerState.Open, breaker.State);
        breaker.CloseFromPeer(_time.GetUtcNow());
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.True(breaker.TryEnter(out var normal));
        Assert.False(normal);
        breaker.OpenFromPeer(_time.GetUtcNow()); // already over: nothing to do
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(2, reported.Count);
    }
}
