using System.Net;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>
/// A comparison from the admin API is evaluation traffic: it must neither trip nor read the production circuit
/// breaker. A model failing on 2 of 20 cases (every retry too) used to open the breaker and show a ~100 % error rate,
/// and live requests right after got 429 <c>no_healthy_deployment</c>.
/// </summary>
public sealed class EvaluationIsolationTests : IAsyncLifetime
{
    private FakeOpenAiServer _flaky = null!;
    private GatewayServer _gw = null!;

    public async Task InitializeAsync()
    {
        _flaky = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Reply = "fine", Models = ["m"] });
        _gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("f", _flaky.BaseUrl, _flaky.ApiKey),
            "--Sanjia:Routing:Retry:BaseDelaySeconds=0.01", "--Sanjia:Routing:Retry:MaxDelaySeconds=0.05",
        ]);
    }

    public async Task DisposeAsync()
    {
        await _gw.DisposeAsync();
        await _flaky.DisposeAsync();
    }

    [Fact]
    public async Task A_flaky_model_shows_its_true_error_rate_and_leaves_the_breaker_closed()
    {
        // Cases 1 and 2 fail on every one of the gateway's 4 attempts (8 failures in a row, past ConsecutiveFailures = 5);
        // the other 18 answer. Concurrency 1 keeps the vendor's scripted order aligned with the cases.
        _flaky.Enqueue([.. Enumerable.Repeat(FakeBehavior.Status(500, "overloaded"), 8)]);
        var suite = "graders: [{type: contains, value: fine}]\ncases:\n" + string.Concat(Enumerable.Range(1, 20).Select(i => $"  - prompt: case {i}\n"));
        var (started, _) = await _gw.PostAsync("/admin/compare", new { suite, models = new[] { "f/m" }, concurrency = 1, run_id = "flaky" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var done = await AdminCompareTests.WaitAsync(_gw, "flaky");

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        var model = done["report"]!["models"]![0]!;
        Assert.Equal(0.1, model["errorRate"]!.GetValue<double>(), 9);                 // 2 of 20 cases, after the retries
        Assert.Equal(8.0 / 26, model["callErrorRate"]!.GetValue<double>(), 9);       // 8 of 26 upstream calls
        Assert.Equal(90, model["quality"]!.GetValue<double>(), 9);
        Assert.Equal(26, _flaky.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));

        // Production traffic right after is served: the evaluation wrote no health state.
        var (live, text, _) = await _gw.ChatAsync("f/m");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("fine", text);
    }

    [Fact]
    public async Task The_evaluation_header_from_outside_isolates_nothing()
    {
        // Anyone can send the header; without the gateway's own per-process secret it is ignored, so eight failures
        // in a row still open the breaker for this ordinary request's successors.
        _flaky.Enqueue([.. Enumerable.Repeat(FakeBehavior.Status(500, "overloaded"), 8)]);
        for (var i = 0; i < 2; i++)
        {
            using var request = GatewayServer.Chat("f/m", stream: false);
            request.Headers.TryAddWithoutValidation("x-sanjia-evaluation", "guess");
            using var failed = await _gw.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.OK, failed.StatusCode);
        }
        var (after, _, _) = await _gw.ChatAsync("f/m");
        Assert.Equal(HttpStatusCode.TooManyRequests, after.StatusCode);
    }
}
