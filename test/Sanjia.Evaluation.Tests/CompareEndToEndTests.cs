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
/// The real gateway on a loopback port, three fake vendors whose quality (how many of the suite's answers their fixed
/// reply contains), latency and price are scripted, plus the tiny local model; <c>sanjia compare</c> runs over HTTP.
/// </summary>
public sealed class CompareEndToEndTests : IAsyncLifetime
{
    private const int Cases = 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("sanjia-compare-e2e-").FullName;
    private readonly Dictionary<string, FakeOpenAiServer> _vendors = [];
    private WebApplication? _gateway;
    private string _url = "";
    private const string MasterKey = "sk-master-compare-test-0001";

    private static string Answer(int i) => $"ZQ-{i * 7 + 100}";

    // Prices per token: budget is far cheaper than premium, overpriced dearer; local models are free.
    private static readonly Dictionary<string, decimal> PricePerToken = new()
    {
        ["premium"] = 0.00001m,
        ["budget"] = 0.000002m,
        ["overpriced"] = 0.000012m,
        ["local"] = 0m,
    };

    public async Task InitializeAsync()
    {
        // premium knows every answer, budget all but one, overpriced half; the reply is the same for every case.
        var known = new Dictionary<string, IEnumerable<int>>
        {
            ["premium"] = Enumerable.Range(0, Cases),
            ["budget"] = Enumerable.Range(0, Cases).Where(i => i != 7),
            ["overpriced"] = Enumerable.Range(0, Cases).Where(i => i % 2 == 0),
        };
        var args = new List<string>
        {
            "--Sanjia:Urls=http://127.0.0.1:0", $"--Sanjia:DataDir={Path.Combine(_dir, "gateway")}", $"--Sanjia:MasterKey={MasterKey}",
            $"--Sanjia:ModelsDir={Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName}", "--Sanjia:Local:Embeddings=false",
            "--Sanjia:PresetsFromEnvironment=false", $"--Sanjia:ModelFiles:0={LocalModel.Path}", "--Sanjia:Local:Threads=1",
        };
        foreach (var (name, answers) in known)
        {
            var server = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Reply = "Codes: " + string.Join(" ", answers.Select(Answer)) });
            if (name == "premium") server.SetDefault(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromMilliseconds(40)));
            _vendors[name] = server;
            args.Add($"--Sanjia:Providers:{name}:BaseUrl={server.BaseUrl}");
            args.Add($"--Sanjia:Providers:{name}:ApiKey={server.ApiKey}");
        }
        _gateway = GatewayApp.Build([.. args]);
        await _gateway.StartAsync();
        _url = GatewayApp.Addresses(_gateway).First();
    }

    private sealed class PriceList(IModelRunner inner) : IModelRunner
    {
        public async Task<ModelCall> ChatAsync(ModelRequest request, CancellationToken cancellationToken)
        {
            var call = await inner.ChatAsync(request, cancellationToken);
            var price = PricePerToken[request.Model.Split('/')[0]];
            return call.Failed || call.Cost is not null ? call : call with { Cost = price * (call.InputTokens + call.OutputTokens), Currency = "USD" };
        }

        public Task<(IReadOnlyList<float[]>? Vectors, string? Error)> EmbedAsync(string model, IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
            inner.EmbedAsync(model, inputs, cancellationToken);
    }

    private async Task<(int Code, string Output)> CompareAsync(params string[] extra)
    {
        var suite = Path.Combine(_dir, "codes.yaml");
        await File.WriteAllTextAsync(suite, $"""
            name: codes
            defaults: {"{"} max_tokens: 8, temperature: 0 {"}"}
            graders: [contains]
            cases:
            {string.Join("\n", Enumerable.Range(0, Cases).Select(i => $"  - {{ id: item-{i}, prompt: 'What is the code of item {i}?', expected: '{Answer(i)}' }}"))}
            """);
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        var env = new CompareCommandEnvironment(console, _ => null) { DecorateRunner = r => new PriceList(r) };
        string[] args =
        [
            "--suite", suite, "--models", "premium/m,budget/m,overpriced/m,local/stories260K", "--baseline", "premium/m",
            "--url", _url, "--key", MasterKey, "--concurrency", "3", "--data", Path.Combine(_dir, "eval"), "--out", Path.Combine(_dir, "out"), .. extra,
        ];
        var code = await CompareCommand.RunAsync(args, env, CancellationToken.None);
        return (code, output.ToString());
    }

    [Fact]
    public async Task Compare_ranks_models_marks_the_Pareto_front_and_recommends_the_cheap_equal_model()
    {
        var (code, output) = await CompareAsync("--run-id", "e2e");
        Assert.True(code == CompareCommand.Ok, output);

        var report = JsonReport.Parse(await File.ReadAllTextAsync(Path.Combine(_dir, "out", "report.json")))!;
        ModelSummary M(string name) => report.Models.Single(m => m.Model == name);

        Assert.Equal(100, M("premium/m").Quality, 6);
        Assert.Equal(95, M("budget/m").Quality, 6);
        Assert.Equal(50, M("overpriced/m").Quality, 6);
        Assert.True(M("local/stories260K").Quality < 50);
        Assert.All(report.Models, m => Assert.Equal(0, m.ErrorRate));
        Assert.All(report.Models, m => Assert.Equal(Cases, m.PricedCalls));
        Assert.True(M("premium/m").LatencyP50Ms >= 40, $"premium p50 {M("premium/m").LatencyP50Ms} ms");
        Assert.All(report.Models, m => Assert.False(double.IsNaN(m.TtftP50Ms), m.Model + " has no time to first token"));

        Assert.Equal(["local/stories260K", "budget/m", "premium/m"], report.ParetoFront);
        Assert.False(M("overpriced/m").OnParetoFront);

        var overpriced = report.Comparisons.Single(c => c.Candidate == "overpriced/m");
        Assert.Equal(Verdict.SignificantlyWorse, overpriced.Verdict);
        var budget = report.Comparisons.Single(c => c.Candidate == "budget/m");
        Assert.Equal(Verdict.NoSignificantDifference, budget.Verdict);
        Assert.Equal(-5, budget.QualityDifference, 6);

        Assert.Equal(RecommendedAction.Switch, report.Recommendation.Action);
        Assert.Equal("budget/m", report.Recommendation.Model);
        Assert.Matches(@"^Switch to budget/m: budget/m costs \d+ % less than premium/m; quality \u22125\.0 points \(95 % CI \u2212\d+\.\d to 0\.0\): no significant loss \(p = 1\.000\)\.$", report.Recommendation.Text);

        var html = await File.ReadAllTextAsync(Path.Combine(_dir, "out", "report.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("class=\"pareto-front\"", html);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(report.Recommendation.Text), html);
        Assert.Contains(report.Recommendation.Text, await File.ReadAllTextAsync(Path.Combine(_dir, "out", "report.md")));
        Assert.Contains("Recommendation: Switch to budget/m", output);

        // Every vendor got one streamed request per case through the gateway, with the model rewritten.
        foreach (var vendor in _vendors.Values)
        {
            var requests = vendor.Requests;
            Assert.Equal(Cases, requests.Count);
            Assert.All(requests, r => Assert.True(JsonDocument.Parse(r.Body).RootElement.GetProperty("stream").GetBoolean()));
        }

        // The same run id again: everything is stored, so no call is made and the report is the same.
        var (again, againOutput) = await CompareAsync("--run-id", "e2e");
        Assert.True(again == CompareCommand.Ok, againOutput);
        Assert.Contains($"{Cases * 4}/{Cases * 4} cells already done", againOutput);
        Assert.All(_vendors.Values, v => Assert.Equal(Cases, v.Requests.Count));
    }

    [Fact]
    public async Task A_wrong_key_is_reported_as_failed_calls()
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

/// <summary>The tiny real GGUF model (SANJIA_TEST_MODEL, else the nearest shared/models/stories260K.gguf above the binaries).</summary>
internal static class LocalModel
{
    public static string Path { get; } = Locate();

    private static string Locate()
    {
        var env = Environment.GetEnvironmentVariable("SANJIA_TEST_MODEL");
        if (!string.IsNullOrWhiteSpace(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "models", "stories260K.gguf");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("stories260K.gguf not found; set SANJIA_TEST_MODEL.");
    }
}
