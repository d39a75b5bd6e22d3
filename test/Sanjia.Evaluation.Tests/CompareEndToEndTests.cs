using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Sanjia.Cli;
using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;
using Spectre.Console;

namespace Sanjia.Evaluation.Tests;

/// <summary>
/// The real gateway on a loopback port and four fake vendors whose quality (how many of the suite's answers their
/// fixed reply contains), latency and price (in the gateway's configuration) are known in advance; <c>sanjia
/// compare</c> runs over HTTP in its default, streaming mode, and every number is checked against the truth.
/// </summary>
public sealed class CompareEndToEndTests : IAsyncLifetime
{
    private const int Cases = 60;
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-compare-e2e-").FullName;
    private readonly Dictionary<string, FakeOpenAiServer> _vendors = [];
    private WebApplication? _gateway;
    private string _url = "";
    private const string MasterKey = "sk-master-compare-test-0001";

    private static string Answer(int i) => $"ZQ-{i * 7 + 100}";

    // Which cases each vendor knows, and its price per million input and output tokens (USD).
    private static readonly Dictionary<string, (int[] Known, decimal Input, decimal Output)> Truth = new()
    {
        ["premium"] = ([.. Enumerable.Range(0, Cases)], 10m, 30m),
        ["budget"] = ([.. Enumerable.Range(0, Cases).Where(i => i != 17)], 1m, 2m),
        ["mid"] = ([.. Enumerable.Range(0, Cases).Where(i => i % 10 != 4)], 3m, 6m),
        ["overpriced"] = ([.. Enumerable.Range(0, Cases).Where(i => i % 2 == 0)], 12m, 36m),
    };

    public async Task InitializeAsync()
    {
        var args = new List<string>
        {
            "--Sanjia:Urls=http://127.0.0.1:0", $"--Sanjia:DataDir={Path.Combine(_dir, "gateway")}", $"--Sanjia:MasterKey={MasterKey}",
            $"--Sanjia:ModelsDir={Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName}", "--Sanjia:Local:Embeddings=false",
            "--Sanjia:PresetsFromEnvironment=false",
        };
        foreach (var (name, (known, input, output)) in Truth)
        {
            // Each vendor lists the model it serves in its GET /models, so the gateway can check names before a run.
            var server = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Reply = "Codes: " + string.Join(" ", known.Select(Answer)), Models = ["m"] });
            if (name == "premium") server.SetDefault(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromMilliseconds(40)));
            _vendors[name] = server;
            args.Add($"--Sanjia:Providers:{name}:BaseUrl={server.BaseUrl}");
            args.Add($"--Sanjia:Providers:{name}:ApiKey={server.ApiKey}");
            args.Add($"--Sanjia:Metering:Prices:{name}/m:Currency=USD");
            args.Add($"--Sanjia:Metering:Prices:{name}/m:Input={input.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            args.Add($"--Sanjia:Metering:Prices:{name}/m:Output={output.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }
        _gateway = GatewayApp.Build([.. args]);
        await _gateway.StartAsync();
        _url = GatewayApp.Addresses(_gateway).First();
    }

    private async Task<string> SuiteAsync(int cases)
    {
        var suite = Path.Combine(_dir, $"codes-{cases}.yaml");
        await File.WriteAllTextAsync(suite, $"""
            name: codes
            defaults: {"{"} max_tokens: 8, temperature: 0 {"}"}
            graders: [contains]
            cases:
            {string.Join("\n", Enumerable.Range(0, cases).Select(i => $"  - {{ id: item-{i}, prompt: 'What is the code of item {i}?', expected: '{Answer(i)}' }}"))}
            """);
        return suite;
    }

    private async Task<(int Code, string Output)> CompareAsync(string models, params string[] extra)
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 80;
        string[] args =
        [
            "--models", models, "--url", _url, "--key", MasterKey, "--concurrency", "3",
            "--data", Path.Combine(_dir, "eval"), "--out", Path.Combine(_dir, "out"), .. extra,
        ];
        var code = await CompareCommand.RunAsync(args, new CompareCommandEnvironment(console, _ => null), CancellationToken.None);
        return (code, output.ToString());
    }

    private ComparisonReport Report() => JsonReport.Parse(File.ReadAllText(Path.Combine(_dir, "out", "report.json")))!;

    [Fact]
    public async Task Sixty_cases_over_four_models_give_the_true_numbers_in_streaming_mode_and_the_recommendation_follows_the_margin()
    {
        var suite = await SuiteAsync(Cases);
        const string models = "premium/m,budget/m,mid/m,overpriced/m";
        var (code, output) = await CompareAsync(models, "--suite", suite, "--baseline", "premium/m", "--run-id", "e2e", "--margin", "10");
        Assert.True(code == CompareCommand.Ok, output);

        var report = Report();
        ModelSummary M(string name) => report.Models.Single(m => m.Model == name);
        foreach (var (name, (known, input, outputPrice)) in Truth)
        {
            var m = M(name + "/m");
            Assert.Equal(100.0 * known.Length / Cases, m.Quality, 6);
            Assert.Equal(0, m.ErrorRate);
            // Every streamed call carried its cost in the final usage chunk, at the configured price of its tokens.
            Assert.Equal(Cases, m.PricedCalls);
            Assert.Equal("USD", m.Currency);
            Assert.Equal((m.InputTokens * input + m.OutputTokens * outputPrice) / 1_000_000m, m.TotalCost);
            Assert.False(double.IsNaN(m.TtftP50Ms), name + " has no time to first token");
        }
        Assert.True(M("premium/m").LatencyP50Ms >= 40, $"premium p50 {M("premium/m").LatencyP50Ms} ms");
        Assert.Equal(["budget/m", "premium/m"], report.ParetoFront);

        Assert.Equal(Verdict.SignificantlyWorse, report.Comparisons.Single(c => c.Candidate == "overpriced/m").Verdict);
        var budget = report.Comparisons.Single(c => c.Candidate == "budget/m");
        Assert.Equal(-100.0 / 60, budget.QualityDifference, 6);
        Assert.True(budget.NonInferior);
        Assert.Equal(RecommendedAction.Switch, report.Recommendation.Action);
        Assert.Equal("budget/m", report.Recommendation.Model);
        Assert.Matches(@"^Switch to budget/m: budget/m costs \d+ % less than premium/m; quality \u22121\.7 points \(95 % CI \u2212\d\.\d to 0\.0\): no significant difference \(p = 1\.000\), loses less than the 10-point margin\.$", report.Recommendation.Text);
        Assert.Contains("Recommendation: Switch to budget/m", output);
        // The terminal table fits 80 columns, one line per model.
        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd().Length <= 80, line));
        Assert.Contains(output.Split('\n'), l => l.Contains("budget/m ★", StringComparison.Ordinal) && l.Contains("98.3", StringComparison.Ordinal));

        // Every vendor got one streamed request per case through the gateway.
        foreach (var vendor in _vendors.Values)
        {
            var chats = vendor.Requests.Where(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).ToList();
            Assert.Equal(Cases, chats.Count);
            Assert.All(chats, r => Assert.True(JsonDocument.Parse(r.Body).RootElement.GetProperty("stream").GetBoolean()));
        }

        // The same run with a 2-point margin: no call is made, and one missed case in 60 is no longer enough to switch.
        var (again, againOutput) = await CompareAsync(models, "--suite", suite, "--baseline", "premium/m", "--run-id", "e2e", "--margin", "2");
        Assert.True(again == CompareCommand.Ok, againOutput);
        Assert.Contains($"{Cases * 4}/{Cases * 4} cells already done", againOutput);
        Assert.All(_vendors.Values, v => Assert.Equal(Cases, v.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal))));
        Assert.Equal(RecommendedAction.Inconclusive, Report().Recommendation.Action);
        Assert.Contains("more than 2 points", Report().Recommendation.Text);
    }

    [Fact]
    public async Task A_ten_case_suite_warns_with_the_cases_needed_instead_of_recommending()
    {
        var suite = await SuiteAsync(10);
        var (code, output) = await CompareAsync("premium/m,mid/m", "--suite", suite, "--run-id", "ten");
        Assert.True(code == CompareCommand.Ok, output);
        var report = Report();
        Assert.Equal(90, report.Models.Single(m => m.Model == "mid/m").Quality, 6);
        Assert.Equal(RecommendedAction.Inconclusive, report.Recommendation.Action);
        Assert.Matches(@"^Too few cases to recommend: mid/m costs \d+ % less than premium/m, but 10 cases cannot tell whether it loses more than 5 points .*; about [\d,]+ cases are needed \(α = 0\.05, 80 % power, 5-point margin\)\.$", report.Recommendation.Text);
        Assert.Contains("non-inferiority margin 5 points", await File.ReadAllTextAsync(Path.Combine(_dir, "out", "report.md")));
    }

    [Fact]
    public async Task Unknown_models_stop_the_run_before_any_call()
    {
        var suite = await SuiteAsync(Cases);
        var (code, output) = await CompareAsync("premium/m,budget/typo-model", "--suite", suite);
        Assert.Equal(CompareCommand.BadUsage, code);
        Assert.Contains("model 'budget/typo-model' not found", output);
        Assert.All(_vendors.Values, v => Assert.DoesNotContain(v.Requests, r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));

        // A judge model is checked too.
        var judged = Path.Combine(_dir, "judged.yaml");
        await File.WriteAllTextAsync(judged, "graders: [{ type: judge, model: mid/no-such-judge, rubric: correct }]\ncases: [{ prompt: hi }]\n");
        (code, output) = await CompareAsync("premium/m", "--suite", judged);
        Assert.Equal(CompareCommand.BadUsage, code);
        Assert.Contains("grader model 'mid/no-such-judge' not found", output);
    }

    [Fact]
    public async Task A_dry_run_checks_everything_and_prices_the_run_without_calling_a_model()
    {
        var suite = await SuiteAsync(Cases);
        var (code, output) = await CompareAsync("premium/m,budget/m", "--suite", suite, "--dry-run", "--max-cost", "0.00001");
        Assert.True(code == CompareCommand.Ok, output);
        Assert.Contains("Estimate: 120 calls, up to", output);
        Assert.Contains("The estimate is above --max-cost", output);
        Assert.Contains("Dry run:", output);
        Assert.All(_vendors.Values, v => Assert.DoesNotContain(v.Requests, r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_cost_cap_stops_the_run_and_fail_if_gates_ci()
    {
        var suite = await SuiteAsync(Cases);
        // A call costs about (10 × 10 + 8 × 30) / 1e6 ≈ 0.00034 USD at premium's price: the cap stops the run early.
        var (code, output) = await CompareAsync("premium/m", "--suite", suite, "--run-id", "capped", "--concurrency", "1", "--max-cost", "0.002", "--no-stream");
        Assert.Equal(CompareCommand.Failed, code);
        Assert.Contains("cost cap", output);
        var calls = _vendors["premium"].Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        Assert.InRange(calls, 2, 10);
        Assert.True(Report().MissingCells > 40);

        (code, output) = await CompareAsync("premium/m,overpriced/m", "--suite", await SuiteAsync(10), "--run-id", "gate", "--fail-if", "quality(candidate) < 90");
        Assert.Equal(CompareCommand.ConditionFailed, code);
        Assert.Contains("quality(overpriced/m) is 50", output);
    }

    [Fact]
    public async Task A_wrong_key_is_reported_before_any_call()
    {
        var suite = Path.Combine(_dir, "one.yaml");
        await File.WriteAllTextAsync(suite, "graders: [contains]\ncases: [{ prompt: hi, expected: x }]\n");
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(output) });
        var code = await CompareCommand.RunAsync(
            ["--suite", suite, "--models", "budget/m", "--url", _url, "--key", "sk-wrong-key-000000", "--data", Path.Combine(_dir, "eval2"), "--out", Path.Combine(_dir, "out2")],
            new CompareCommandEnvironment(console, _ => null), CancellationToken.None);
        Assert.Equal(CompareCommand.Failed, code);
        Assert.Contains("Incorrect API key", output.ToString());
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.StopAsync();
            await _gateway.DisposeAsync();
        }
        foreach (var v in _vendors.Values) await v.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean up.
        }
    }
}
