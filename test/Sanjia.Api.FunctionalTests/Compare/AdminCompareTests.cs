using System.Net;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary><c>POST /admin/compare</c> runs in the background through the gateway's own endpoint, against two fake vendors.</summary>
public sealed class AdminCompareTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;
    private GatewayServer _gw = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _b = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _gw = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
            .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
            .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        ]);
    }

    public async Task DisposeAsync()
    {
        await _gw.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    /// <summary>Polls the run until it leaves "running" (generous deadline for a slow machine).</summary>
    internal static async Task<JsonNode> WaitAsync(GatewayServer gw, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var (response, body) = await gw.GetAsync($"/admin/compare/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (body!["status"]!.GetValue<string>() != "running") return body;
            Assert.True(DateTime.UtcNow < deadline, "the run did not finish: " + body.ToJsonString());
            await Task.Delay(100);
        }
    }

    private const string Suite = """
        name: which-vendor
        defaults: { max_tokens: 10 }
        graders: [{ type: contains, value: m2 }]
        cases:
          - prompt: one
          - prompt: two
          - prompt: three
          - prompt: four
          - prompt: five
          - prompt: six
        """;

    [Fact]
    public async Task An_inline_yaml_suite_runs_in_the_background_and_reports_through_the_gateway()
    {
        var (started, body) = await _gw.PostAsync("/admin/compare", new { suite = Suite, models = new[] { "chat", "b/m2" }, concurrency = 2, run_id = "vendors" });

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("/admin/compare/vendors", started.Headers.Location!.ToString());
        Assert.Equal("vendors", body!["id"]!.GetValue<string>());
        var done = await WaitAsync(_gw, "vendors");

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal(12, done["progress"]!["done"]!.GetValue<int>());
        Assert.Equal(12, done["progress"]!["total"]!.GetValue<int>());
        var report = done["report"]!;
        Assert.Equal("chat", report["baseline"]!.GetValue<string>());
        var quality = report["models"]!.AsArray().ToDictionary(m => m!["model"]!.GetValue<string>(), m => m!["quality"]!.GetValue<double>());
        Assert.Equal(0, quality["chat"]);
        Assert.Equal(100, quality["b/m2"]);
        Assert.Equal("significantlyBetter", report["comparisons"]![0]!["verdict"]!.GetValue<string>());
        // Every call went through the gateway to the vendors: six cases each.
        Assert.Equal(6, _a.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
        Assert.Equal(6, _b.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));

        var html = await _gw.Http.GetStringAsync("/admin/compare/vendors/report.html");
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("id=\"recommendation\"", html, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_gw.DataDir, "compare", "vendors", "report.json")));
    }

    [Fact]
    public async Task A_prompt_source_compares_each_model_on_its_own_variant()
    {
        await _gw.PostAsync("/admin/prompts", new
        {
            id = "greet",
            messages = new[] { new { role = "user", content = "Greet {{name}}." } },
            variants = new Dictionary<string, object> { ["b/m2"] = new[] { new { role = "user", content = "Say hi to {{name}}, briefly." } } },
        });

        var (started, _) = await _gw.PostAsync("/admin/compare", new
        {
            models = new[] { "chat", "b/m2" },
            run_id = "greet-migration",
            prompt = new
            {
                id = "greet",
                graders = new[] { new { type = "contains", value = "Hello" } },
                cases = new[] { new { vars = new { name = "Ada" } }, new { vars = new { name = "Grace" } } },
            },
        });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var done = await WaitAsync(_gw, "greet-migration");

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Equal("greet@1", done["suite"]!.GetValue<string>());
        var toA = _a.Requests.Where(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).Select(r => JsonNode.Parse(r.BodyText)!["messages"]![0]!["content"]!.GetValue<string>()).Order().ToList();
        var toB = _b.Requests.Where(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).Select(r => JsonNode.Parse(r.BodyText)!["messages"]![0]!["content"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["Greet Ada.", "Greet Grace."], toA);
        Assert.Equal(["Say hi to Ada, briefly.", "Say hi to Grace, briefly."], toB);
    }

    [Theory]
    [InlineData("""{"models":["chat"]}""", "exactly one suite source")]
    [InlineData("""{"models":["chat"],"suite":"cases: []"}""", "at least one case")]
    [InlineData("""{"models":["chat"],"suite":"cases: [{prompt: x, graders: [{type: nope}]}]"}""", "unknown grader type 'nope'")]
    [InlineData("""{"models":["chat"],"baseline":"b/m2","suite":"cases: [{prompt: x}]"}""", "'baseline'")]
    [InlineData("""{"models":[],"suite":"cases: [{prompt: x}]"}""", "'models'")]
    [InlineData("""{"models":["chat"],"prompt":{"id":"missing","cases":[{}]}}""", "no prompt named 'missing'")]
    [InlineData("""{"models":["chat","b/typo-model"],"suite":"cases: [{prompt: x, graders: [contains], expected: y}]"}""", "Model 'b/typo-model' not found")]
    [InlineData("""{"models":["chat"],"suite":"cases: [{prompt: x, graders: [{type: judge, model: b/no-judge, rubric: r}]}]"}""", "Grader model 'b/no-judge' not found")]
    [InlineData("""{"models":["chat"],"margin":0,"suite":"cases: [{prompt: x}]"}""", "'margin'")]
    [InlineData("""{"models":["chat"],"samples":0,"suite":"cases: [{prompt: x}]"}""", "'samples'")]
    // Once started on the defaults: a setting of the wrong type was read as absent.
    [InlineData("""{"models":["chat"],"concurrency":"8","suite":"cases: [{prompt: x}]"}""", "'concurrency' must be a whole number")]
    [InlineData("""{"models":["chat"],"samples":1e10,"suite":"cases: [{prompt: x}]"}""", "'samples' must be a whole number")]
    [InlineData("""{"models":["chat"],"margin":1e400,"suite":"cases: [{prompt: x}]"}""", "'margin' must be a number")]
    [InlineData("""{"models":["chat"],"max_cost":"0.5","suite":"cases: [{prompt: x}]"}""", "'max_cost' must be a number")]
    [InlineData("""{"models":["chat"],"stream":"no","suite":"cases: [{prompt: x}]"}""", "'stream' must be true or false")]
    [InlineData("""{"models":["chat"],"run_id":5,"suite":"cases: [{prompt: x}]"}""", "'run_id' must be a string")]
    // Once started, and "completed" with every call refused.
    [InlineData("""{"models":["chat"],"key":"sk-not-a-key","suite":"cases: [{prompt: x, graders: [contains], expected: y}]"}""", "'key' is not a key the gateway accepts")]
    public async Task A_bad_comparison_request_is_refused_before_any_call(string body, string message)
    {
        var (response, error) = await _gw.PostAsync("/admin/compare", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, error!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_a.Requests);
    }

    [Fact]
    public async Task An_unknown_run_is_404()
    {
        var (response, error) = await _gw.GetAsync("/admin/compare/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("run_not_found", error!["error"]!["code"]!.GetValue<string>());
    }
}
