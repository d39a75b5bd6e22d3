using System.Net;
using System.Text.Json.Nodes;
using Sanjia.Api.Compare;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Cli;
using Sanjia.Core.Traffic;
using Sanjia.Evaluation.Suites;
using Sanjia.Storage.Sqlite;
using Sanjia.Testing.FakeUpstream;
using Spectre.Console;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>The body log and replay of logged traffic as a suite: from a seeded log, and end to end through the gateway.</summary>
public sealed class ReplayTests : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;
    private FakeOpenAiServer _e = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _b = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2", "text-embedding-3-small"] });
        _e = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _e.DisposeAsync();
    }

    private Task<GatewayServer> StartAsync(string root, bool bodies) => GatewayServer.StartInAsync(root,
    [
        .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Provider("e", _e.BaseUrl, _e.ApiKey),
        "--Sanjia:Providers:e:EmbeddingModels:0=text-embedding-3-small",
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        $"--Sanjia:Logging:Bodies={bodies}",
    ]);

    private static readonly DateTimeOffset Day = new(2025, 3, 10, 0, 0, 0, TimeSpan.Zero);

    private static LoggedExchange Exchange(string id, string model, string? key, int hour, string question, string answer) => new()
    {
        RequestId = id,
        Timestamp = Day.AddHours(hour),
        Model = model,
        KeyId = key,
        Endpoint = "/v1/chat/completions",
        RequestBody = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "Be brief." },
                new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = question }) }),
        }.ToJsonString(),
        ResponseText = answer,
    };

    private static async Task<SqliteBodyLogStore> SeedAsync(string path)
    {
        var store = new SqliteBodyLogStore(path);
        var batch = new List<LoggedExchange>();
        for (var i = 0; i < 30; i++)
        {
            batch.Add(Exchange($"r{i:D2}", i % 3 == 0 ? "other" : "chat", i % 2 == 0 ? "team-a" : "team-b", i, $"question {i}", $"answer {i}"));
        }
        await store.WriteAsync(batch, CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task A_replay_suite_takes_the_filtered_sample_with_the_original_answers_as_references()
    {
        var root = GatewayServer.NewDataDir();
        try
        {
            using var store = await SeedAsync(Path.Combine(root, "traffic.db"));
            var settings = new ReplaySettings { Alias = "chat", KeyId = "team-a", Since = Day.AddHours(4), Until = Day.AddHours(20), Sample = 3, Seed = 7, EmbeddingModel = "e/text-embedding-3-small" };

            var suite = await ReplaySuite.BuildAsync(store, settings, CancellationToken.None);

            // chat (i % 3 != 0), team-a (even i), hours 4..19: 4, 8, 10, 14, 16.
            var eligible = new[] { 4, 8, 10, 14, 16 }.Select(i => $"r{i:D2}").ToList();
            Assert.Equal(3, suite.Cases.Count);
            Assert.All(suite.Cases, c => Assert.Contains(c.Id, eligible));
            Assert.Equal(suite.Cases.Select(c => c.Id).Order(), suite.Cases.Select(c => c.Id)); // in time order
            foreach (var c in suite.Cases)
            {
                var i = int.Parse(c.Id[1..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal($"answer {i}", c.ExpectedText);
                Assert.Equal([new EvalMessage("system", "Be brief."), new EvalMessage("user", $"question {i}")], c.Messages);
                var grader = Assert.Single(c.Graders);
                Assert.Equal("embedding", grader.Type);
            }
            // The same seed gives the same sample; the whole range when the sample is larger.
            Assert.Equal(suite.Cases.Select(c => c.Id), (await ReplaySuite.BuildAsync(store, settings, CancellationToken.None)).Cases.Select(c => c.Id));
            Assert.Equal(eligible, (await ReplaySuite.BuildAsync(store, settings with { Sample = 50 }, CancellationToken.None)).Cases.Select(c => c.Id));
            var judged = await ReplaySuite.BuildAsync(store, settings with { JudgeModel = "chat" }, CancellationToken.None);
            Assert.Equal("judge", judged.Cases[0].Graders[0].Type);

            var none = await Assert.ThrowsAsync<SuiteFormatException>(() => ReplaySuite.BuildAsync(store, settings with { Alias = "nobody" }, CancellationToken.None));
            Assert.Contains("no logged traffic matches", none.Message, StringComparison.Ordinal);
        }
        finally
        {
            GatewayServer.DeleteDataDir(root);
        }
    }

    [Fact]
    public async Task Logged_traffic_replays_on_another_model_through_the_admin_api()
    {
        await using var gw = await StartAsync(GatewayServer.NewDataDir(), bodies: true);
        for (var i = 0; i < 6; i++)
        {
            var (response, _, _) = await gw.ChatAsync("chat", $"question {i}", stream: i % 2 == 1);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }
        var log = gw.Service<BodyLogTap>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (log.Written < 6 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(6, log.Written);
        var logged = await gw.Service<IBodyLogStore>().ReadAsync(new BodyLogQuery("chat", null, null, null), CancellationToken.None);
        Assert.All(logged, e => Assert.Equal("Hello from m1", e.ResponseText));

        var (started, _) = await gw.PostAsync("/admin/compare", new
        {
            models = new[] { "chat", "b/m2" },
            run_id = "replay-week",
            replay = new { alias = "chat", sample = 4, embedding_model = "e/text-embedding-3-small", since = "2000-01-01" },
        });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var done = await AdminCompareTests.WaitAsync(gw, "replay-week");

        Assert.Equal("completed", done["status"]!.GetValue<string>());
        var report = done["report"]!;
        Assert.Equal(4, report["cases"]!.GetValue<int>());
        var quality = report["models"]!.AsArray().ToDictionary(m => m!["model"]!.GetValue<string>(), m => m!["quality"]!.GetValue<double>());
        Assert.Equal(100, quality["chat"], 3); // the same model gives the same answers as logged
        Assert.True(quality["b/m2"] < quality["chat"], $"b/m2 scored {quality["b/m2"]}");
        Assert.Equal(4, _b.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Without_body_logging_nothing_is_logged_and_a_replay_is_refused()
    {
        await using var gw = await StartAsync(GatewayServer.NewDataDir(), bodies: false);
        await gw.ChatAsync("chat");

        var (response, error) = await gw.PostAsync("/admin/compare", new { models = new[] { "chat" }, replay = new { alias = "chat" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Sanjia:Logging:Bodies", error!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (bad, badError) = await gw.PostAsync("/admin/compare", new { models = new[] { "chat" }, replay = new { alias = "chat", since = "last week" } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("replay.since", badError!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_replays_a_seeded_log_against_a_running_gateway()
    {
        await using var gw = await StartAsync(GatewayServer.NewDataDir(), bodies: false);
        var data = Path.Combine(gw.DataDir, "cli-data");
        using (await SeedAsync(Path.Combine(data, "traffic.db"))) { }
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });

        var code = await CompareCommand.RunAsync(
        [
            "--replay", "--alias", "chat", "--since", "2025-03-10T05:00:00Z", "--until", "2025-03-11", "--sample", "5", "--key-id", "team-b",
            "--models", "chat,b/m2", "--url", gw.BaseUrl, "--key", GatewayServer.MasterKey, "--data", data, "--run-id", "cli-replay",
            "--embedding-model", "e/text-embedding-3-small", "--no-stream",
        ], new CompareCommandEnvironment(console, _ => null), CancellationToken.None);

        Assert.True(code == CompareCommand.Ok, output.ToString());
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(data, "compare", "cli-replay", "report.json")))!;
        Assert.Equal(5, report["cases"]!.GetValue<int>());
        Assert.Equal(5, _a.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
        Assert.Equal(5, _b.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
        Assert.Contains("replay-chat", output.ToString(), StringComparison.Ordinal);
    }
}
