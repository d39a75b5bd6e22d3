using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Core.Rollouts;
using Sanjia.Hosting;
using Sanjia.Testing;
using Sanjia.Testing.FakeUpstream;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Compare;

/// <summary>
/// Gradual rollouts of an alias (docs/routing.md): real HTTP to a gateway over two fake vendors, the incumbent
/// <c>a/m1</c> and the candidate <c>b/m2</c>. The controller's own loop is set to an hour so that each test judges
/// the rollout when it chooses (<see cref="RolloutController.TickAsync"/>), from the gateway's real ledger.
/// </summary>
public sealed class RolloutTests(ITestOutputHelper output) : IAsyncLifetime
{
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2"] });
        _b = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Models = ["m1", "m2"] });
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private string[] Settings =>
    [
        .. GatewayServer.Provider("a", _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider("b", _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "a", "m1"),
        .. GatewayServer.FastRetries,
        "--Sanjia:Routing:RolloutIntervalSeconds=3600",
    ];

    /// <summary>Sends <paramref name="n"/> chat requests to the alias; every one must be answered; returns how many the candidate answered.</summary>
    private static async Task<int> SendAsync(GatewayServer gw, int n)
    {
        var candidate = 0;
        for (var i = 0; i < n; i++)
        {
            var (response, _, deployment) = await gw.ChatAsync("chat");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if (deployment == "b/m2") candidate++;
        }
        return candidate;
    }

    private static async Task<JsonNode> RolloutAsync(GatewayServer gw)
    {
        var (response, body) = await gw.GetAsync("/admin/aliases/chat/rollout");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return body!;
    }

    /// <summary>Twenty requests then a judgement, until the rollout is decided (at most <paramref name="rounds"/> times); the rollout then.</summary>
    private async Task<JsonNode> JudgeUntilDecidedAsync(GatewayServer gw, int rounds)
    {
        var controller = gw.Service<RolloutController>();
        for (var round = 0; round < rounds && (await RolloutAsync(gw))["status"]!.GetValue<string>() == "running"; round++)
        {
            // Every client request is answered (a failed candidate attempt falls back to the incumbent).
            await SendAsync(gw, 20);
            await controller.TickAsync();
        }
        var rollout = await RolloutAsync(gw);
        output.WriteLine(rollout.ToJsonString());
        return rollout;
    }

    /// <summary>A chat request to the alias with an evaluation key; its response (status and the deployment header).</summary>
    private static Task<HttpResponseMessage> EvaluationChatAsync(GatewayServer gw, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "chat", messages = new[] { new { role = "user", content = "Say hello" } } }),
        };
        request.Headers.Authorization = new("Bearer", key);
        return gw.SendAsync(request);
    }

    [Fact]
    public async Task A_worse_candidate_rolls_itself_back_and_gets_nothing_afterwards()
    {
        // Three failures in ten, spread out so the candidate's breaker stays closed: the guard, not the breaker, acts.
        for (var i = 0; i < 40; i++) _b.Enqueue(FakeBehavior.Status(500), FakeBehavior.Default, FakeBehavior.Default, FakeBehavior.Status(500), FakeBehavior.Default,
            FakeBehavior.Default, FakeBehavior.Status(500), FakeBehavior.Default, FakeBehavior.Default, FakeBehavior.Default);
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (started, body) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 20, dwell_seconds = 0, max_error_rate_increase = 0.1 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        Assert.Equal("running", body!["status"]!.GetValue<string>());
        Assert.Equal(50, body["percent"]!.GetValue<int>());

        // Not judged before the step has its minimum sample.
        await SendAsync(gw, 4);
        Assert.Empty(await gw.Service<RolloutController>().TickAsync());

        var rollout = await JudgeUntilDecidedAsync(gw, 20);
        Assert.Equal("rolled_back", rollout["status"]!.GetValue<string>());
        Assert.Equal(0, rollout["percent"]!.GetValue<int>());
        var step = rollout["steps"]!.AsArray().Single()!;
        Assert.Equal(50, step["percent"]!.GetValue<int>());
        Assert.Equal("rollback", step["decision"]!.GetValue<string>());
        Assert.Contains("vendor failures", step["reason"]!.GetValue<string>());
        Assert.NotNull(step["ended_at"]);
        var candidateRate = step["candidate"]!["vendor_failure_rate"]!.GetValue<double>();
        Assert.InRange(candidateRate, 0.2, 0.4); // the candidate's true rate is 0.3
        Assert.True(step["candidate"]!["requests"]!.GetValue<int>() >= 20);
        Assert.Equal(0, step["incumbent"]!["vendor_failures"]!.GetValue<int>());
        Assert.True(step["incumbent"]!["requests"]!.GetValue<int>() > 0);

        // Rolled back at once: the candidate gets no request any more.
        var before = _b.Requests.Count;
        Assert.Equal(0, await SendAsync(gw, 30));
        Assert.Equal(before, _b.Requests.Count);
        var (_, aliases) = await gw.GetAsync("/admin/aliases");
        Assert.Null(aliases!["data"]![0]!["promoted"]);
    }

    [Fact]
    public async Task With_the_response_cache_on_each_side_of_a_rollout_answers_from_its_own_entries()
    {
        _a.SetDefault(FakeBehavior.Reply("the incumbent's answer"));
        _b.SetDefault(FakeBehavior.Reply("the candidate's answer"));
        await using var gw = await GatewayServer.StartWithArgsAsync([.. Settings, "--Sanjia:Models:chat:Cache:Enabled=true", "--Sanjia:Models:chat:Cache:AnyTemperature=true"]);
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 1000, dwell_seconds = 0 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var (aBefore, bBefore) = (_a.Requests.Count, _b.Requests.Count);

        // The same request forty times: about half drawn into the candidate's share.
        var answers = new List<(string? Text, string Cache)>();
        for (var i = 0; i < 40; i++)
        {
            var (response, text, _) = await gw.ChatAsync("chat");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add((text, response.Headers.TryGetValues("x-sanjia-cache", out var v) ? v.Single() : "(none)"));
        }

        // One miss per side, each answered by its own vendor, then hits that repeat that side's answer: a shared entry
        // would have answered every request after the first with one side's answer.
        Assert.Equal((1, 1), (_a.Requests.Count - aBefore, _b.Requests.Count - bBefore));
        Assert.Equal(2, answers.Count(a => a.Cache == "miss"));
        Assert.Equal(38, answers.Count(a => a.Cache == "hit"));
        Assert.Equal(["the candidate's answer", "the incumbent's answer"], answers.Select(a => a.Text).Distinct().Order());
    }

    [Fact]
    public async Task Evaluation_keys_are_left_out_of_a_rollout_and_get_the_alias_as_it_was()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (_, evaluation) = await gw.CreateKeyAsync(new { name = "compare", scopes = new[] { "evaluation" } });
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 100 }, min_requests_per_step = 1000, dwell_seconds = 0 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);

        var everyone = new List<string?>();
        var compare = new List<string?>();
        for (var i = 0; i < 10; i++)
        {
            everyone.Add((await gw.ChatAsync("chat")).Deployment);
            using var response = await EvaluationChatAsync(gw, evaluation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            compare.Add(response.Headers.GetValues("x-sanjia-deployment").Single());
        }

        // At 100 % every other request goes to the candidate; compare traffic stays on the alias's own deployment.
        Assert.All(everyone, d => Assert.Equal("b/m2", d));
        Assert.All(compare, d => Assert.Equal("a/m1", d));
    }

    [Fact]
    public async Task Evaluation_traffic_failing_on_the_incumbent_does_not_hide_a_worse_candidate()
    {
        // The candidate fails three requests in ten (as above); the incumbent fails only the evaluation key's calls.
        for (var i = 0; i < 40; i++) _b.Enqueue(FakeBehavior.Status(500), FakeBehavior.Default, FakeBehavior.Default, FakeBehavior.Status(500), FakeBehavior.Default,
            FakeBehavior.Default, FakeBehavior.Status(500), FakeBehavior.Default, FakeBehavior.Default, FakeBehavior.Default);
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (_, evaluation) = await gw.CreateKeyAsync(new { name = "compare", scopes = new[] { "evaluation" } });
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 20, dwell_seconds = 0, max_error_rate_increase = 0.1 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);

        // Twenty evaluation calls while the incumbent's vendor fails them all: counted, they would put the incumbent's
        // failure rate near 50 % and let a candidate at 30 % through.
        _a.SetDefault(FakeBehavior.Status(500));
        for (var i = 0; i < 20; i++)
        {
            using var response = await EvaluationChatAsync(gw, evaluation);
            Assert.True((int)response.StatusCode >= 500, $"an evaluation call was answered {response.StatusCode}");
        }
        _a.SetDefault(FakeBehavior.Default);

        // Judged on production traffic alone: rolled back at its first step, the incumbent without a failure.
        var rollout = await JudgeUntilDecidedAsync(gw, 20);
        Assert.Equal("rolled_back", rollout["status"]!.GetValue<string>());
        var step = rollout["steps"]!.AsArray().Single()!;
        Assert.Equal("rollback", step["decision"]!.GetValue<string>());
        Assert.Equal(0, step["incumbent"]!["vendor_failures"]!.GetValue<int>());

        // The evaluation calls' rows say so; the others do not.
        var (_, rows) = await gw.GetAsync("/admin/requests?limit=500");
        var data = rows!["data"]!.AsArray();
        var marked = data.Where(r => r!["evaluation"]!.GetValue<bool>()).ToList();
        Assert.Equal(20, marked.Select(r => r!["request_id"]!.GetValue<string>()).Distinct().Count());
        Assert.All(marked, r => Assert.True(r!["status"]!.GetValue<int>() >= 500));
        Assert.All(data.Where(r => r!["key_id"] is null), r => Assert.False(r!["evaluation"]!.GetValue<bool>()));
        // And the request log filters by it.
        var (_, production) = await gw.GetAsync("/admin/requests?limit=500&evaluation=false");
        Assert.Equal(data.Count - marked.Count, production!["data"]!.AsArray().Count);
        Assert.All(production["data"]!.AsArray(), r => Assert.False(r!["evaluation"]!.GetValue<bool>()));
        var (_, evaluated) = await gw.GetAsync("/admin/requests?limit=500&evaluation=true");
        Assert.Equal(marked.Count, evaluated!["data"]!.AsArray().Count);
        var (refused, why) = await gw.GetAsync("/admin/requests?evaluation=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("evaluation", why!["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_rollout_whose_candidate_leaves_the_configuration_is_aborted_with_the_reason()
    {
        var root = GatewayServer.NewDataDir();
        try
        {
            var gw = await GatewayServer.StartInAsync(root, [.. Settings]);
            var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
                new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 5, dwell_seconds = 0 });
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
            await gw.StopAsync();

            // Started again without provider b: the rollout is loaded from the data folder, but nothing can route to it.
            gw = await GatewayServer.StartInAsync(root, [.. Settings.Where(a => !a.Contains(":Providers:b:", StringComparison.Ordinal))]);
            Assert.Equal(0, await SendAsync(gw, 10));
            var decisions = await gw.Service<RolloutController>().TickAsync();
            var rollout = await RolloutAsync(gw);
            output.WriteLine(rollout.ToJsonString());
            Assert.Equal(RolloutController.Abort, Assert.Single(decisions).Steps[^1].Decision);
            Assert.Equal("aborted", rollout["status"]!.GetValue<string>());
            Assert.Contains("no longer serves b/m2", rollout["steps"]![0]!["reason"]!.GetValue<string>());
            await gw.StopAsync();
        }
        finally
        {
            GatewayServer.DeleteDataDir(root);
        }
    }

    [Fact]
    public async Task A_rollout_whose_candidate_a_config_reload_removes_is_aborted_at_the_next_check_and_the_incumbent_answers_meanwhile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"sanjia-rollout-{Guid.NewGuid():N}.json");
        string Config(bool withCandidate) => "{\"Sanjia\":{\"Providers\":{"
            + $"\"a\":{{\"BaseUrl\":\"{_a.BaseUrl}\",\"ApiKey\":\"{_a.ApiKey}\"}}"
            + (withCandidate ? $",\"b\":{{\"BaseUrl\":\"{_b.BaseUrl}\",\"ApiKey\":\"{_b.ApiKey}\"}}" : "")
            + "},\"Models\":{\"chat\":{\"Deployments\":[{\"Provider\":\"a\",\"Model\":\"m1\"}]}}}}";
        await File.WriteAllTextAsync(file, Config(withCandidate: true));
        try
        {
            await using var gw = await GatewayServer.StartWithArgsAsync(["--config", file, .. GatewayServer.FastRetries, "--Sanjia:Routing:RolloutIntervalSeconds=3600"]);
            var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
                new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 1000, dwell_seconds = 0 });
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
            Assert.InRange(await SendAsync(gw, 20), 1, 19);

            // Provider b leaves the configuration: until the controller looks, the incumbent answers every request.
            await File.WriteAllTextAsync(file, Config(withCandidate: false));
            Assert.Empty(await gw.Service<ConfigReloader>().ReloadAsync());
            var before = _b.Requests.Count;
            Assert.Equal(0, await SendAsync(gw, 20));
            Assert.Equal(before, _b.Requests.Count);

            var decision = Assert.Single(await gw.Service<RolloutController>().TickAsync());
            Assert.Equal(RolloutController.Abort, decision.Steps[^1].Decision);
            var rollout = await RolloutAsync(gw);
            output.WriteLine(rollout.ToJsonString());
            Assert.Equal(("aborted", 0), (rollout["status"]!.GetValue<string>(), rollout["percent"]!.GetValue<int>()));
            var step = rollout["steps"]!.AsArray().Single()!;
            Assert.Equal("abort", step["decision"]!.GetValue<string>());
            Assert.Contains("no longer serves b/m2", step["reason"]!.GetValue<string>());
            Assert.NotNull(step["ended_at"]);
            string[] audited = [];
            for (var i = 0; i < 200 && audited.Length < 1; i++)
            {
                if (i > 0) await Task.Delay(50);
                audited = [.. (await gw.GetAsync("/admin/audit?actor=rollout")).Body!["data"]!.AsArray().Select(e => e!["fields"]![0]!.GetValue<string>())];
            }
            Assert.Equal(["abort"], audited);
            Assert.Empty(await gw.Service<RolloutController>().TickAsync()); // ended: nothing more to decide
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_rollout_to_a_local_model_whose_file_is_removed_sends_it_nothing_more_and_is_aborted_at_the_next_check()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        // Two local models: the one rolled out, and another that keeps the local provider in the configuration.
        var file = Path.Combine(gw.DataDir, "models", "tiny-story.gguf");
        File.Copy(TestModel.Path, file);
        File.Copy(TestModel.Path, Path.Combine(gw.DataDir, "models", "other-story.gguf"));
        for (var i = 0; i < 300 && !(await gw.GetAsync("/v1/models")).Body!.ToJsonString().Contains("local/tiny-story", StringComparison.Ordinal); i++) await Task.Delay(100);
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "local", model = "tiny-story", steps = new[] { 90, 100 }, min_requests_per_step = 1000, dwell_seconds = 0 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var answered = new List<string?>();
        for (var i = 0; i < 10; i++) answered.Add((await gw.ChatAsync("chat")).Deployment);
        Assert.Contains("local/tiny-story", answered); // 90 % of them: all ten miss it once in ten billion runs

        // The file goes (as `models rm` does): the local provider no longer serves the model, so the alias's requests
        // go to the incumbent from the rebuilt registry on, before the controller has looked.
        File.Delete(file);
        for (var i = 0; i < 300 && (await gw.GetAsync("/v1/models")).Body!.ToJsonString().Contains("local/tiny-story", StringComparison.Ordinal); i++) await Task.Delay(100);
        for (var i = 0; i < 20; i++)
        {
            var (response, _, deployment) = await gw.ChatAsync("chat");
            Assert.Equal((HttpStatusCode.OK, "a/m1"), (response.StatusCode, deployment));
        }

        var decision = Assert.Single(await gw.Service<RolloutController>().TickAsync());
        Assert.Equal(RolloutController.Abort, decision.Steps[^1].Decision);
        var rollout = await RolloutAsync(gw);
        output.WriteLine(rollout.ToJsonString());
        Assert.Equal("aborted", rollout["status"]!.GetValue<string>());
        Assert.Contains("no longer serves local/tiny-story", rollout["steps"]![0]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_candidate_its_vendor_no_longer_serves_fails_no_request_and_is_rolled_back()
    {
        // The vendor withdrew m2 after the rollout started: every call to it is a 404.
        _b.SetDefault(FakeBehavior.Status(404, "The model `m2` does not exist or you do not have access to it."));
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 5, dwell_seconds = 0 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);

        // The clients named the alias: each request the candidate could not serve is answered by the incumbent.
        Assert.Equal(0, await SendAsync(gw, 20));
        Assert.NotEmpty(_b.Requests);

        var rollout = await JudgeUntilDecidedAsync(gw, 5);
        Assert.Equal(("rolled_back", 0), (rollout["status"]!.GetValue<string>(), rollout["percent"]!.GetValue<int>()));
        var step = rollout["steps"]!.AsArray().Single()!;
        Assert.Equal("rollback", step["decision"]!.GetValue<string>());
        Assert.Equal(1.0, step["candidate"]!["vendor_failure_rate"]!.GetValue<double>());
        Assert.Contains("vendor failures 100.0 %", step["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_good_candidate_goes_5_25_100_and_ends_as_the_promotion()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 5, 25, 100 }, min_requests_per_step = 5, dwell_seconds = 0 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);

        var controller = gw.Service<RolloutController>();
        var decisions = new List<string>();
        for (var round = 0; round < 60 && decisions.LastOrDefault() is not RolloutController.Complete; round++)
        {
            await SendAsync(gw, 20);
            decisions.AddRange((await controller.TickAsync()).Select(r => r.Steps[^1].Decision ?? (r.Steps.Count > 1 ? r.Steps[^2].Decision! : "?")));
        }

        var rollout = await RolloutAsync(gw);
        output.WriteLine(rollout.ToJsonString());
        Assert.Equal("completed", rollout["status"]!.GetValue<string>());
        var steps = rollout["steps"]!.AsArray();
        Assert.Equal([5, 25, 100], steps.Select(s => s!["percent"]!.GetValue<int>()));
        Assert.Equal(["advance", "advance", "complete"], steps.Select(s => s!["decision"]!.GetValue<string>()));
        Assert.All(steps, s =>
        {
            Assert.True(s!["candidate"]!["requests"]!.GetValue<int>() >= 5);
            Assert.Equal(0, s["candidate"]!["vendor_failures"]!.GetValue<int>());
            Assert.NotNull(s["ended_at"]);
        });
        // Each step began when the one before it ended.
        for (var i = 1; i < steps.Count; i++) Assert.Equal(steps[i - 1]!["ended_at"]!.GetValue<double>(), steps[i]!["started_at"]!.GetValue<double>());

        // The candidate is now the alias's promotion: every request goes to it, the old first choice is the fallback.
        var (_, aliases) = await gw.GetAsync("/admin/aliases");
        Assert.Equal("m2", aliases!["data"]![0]!["promoted"]!["model"]!.GetValue<string>());
        Assert.Equal(["b/m2", "a/m1"], aliases["data"]![0]!["deployments"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Equal(10, await SendAsync(gw, 10));
    }

    [Fact]
    public async Task At_a_step_the_candidate_gets_about_its_share_and_an_abort_ends_it_at_once()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout", new { provider = "b", model = "m2", steps = new[] { 25, 100 } });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);

        var (_, aliases) = await gw.GetAsync("/admin/aliases");
        Assert.Equal("b/m2", aliases!["data"]![0]!["rollout"]!["deployment"]!.GetValue<string>());
        Assert.Equal(25, aliases["data"]![0]!["rollout"]!["percent"]!.GetValue<int>());
        var share = await SendAsync(gw, 400);
        output.WriteLine($"candidate answered {share} of 400 requests at 25 %");
        Assert.InRange(share, 60, 140); // expected 100, σ ≈ 8.7: ±40 is more than 4 σ

        // The running step's figures as they stand, from the ledger (once every row is stored).
        await gw.LedgerAsync(400);
        var live = await RolloutAsync(gw);
        Assert.Equal(share, live["steps"]![0]!["candidate"]!["requests"]!.GetValue<int>());
        Assert.Equal(400 - share, live["steps"]![0]!["incumbent"]!["requests"]!.GetValue<int>());
        Assert.Null(live["steps"]![0]!["decision"]);

        var (aborted, body) = await gw.DeleteAsync("/admin/aliases/chat/rollout");
        Assert.Equal(HttpStatusCode.OK, aborted.StatusCode);
        Assert.Equal("aborted", body!["status"]!.GetValue<string>());
        Assert.Equal("abort", body["steps"]![0]!["decision"]!.GetValue<string>());
        Assert.Equal(0, await SendAsync(gw, 20));
        Assert.Null((await gw.GetAsync("/admin/aliases")).Body!["data"]![0]!["rollout"]);

        // An ended rollout leaves room for a new one.
        var (again, second) = await gw.PostAsync("/admin/aliases/chat/rollout", new { provider = "b", model = "m2", steps = new[] { 100 } });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(100, second!["percent"]!.GetValue<int>());
        Assert.Equal(5, await SendAsync(gw, 5));
    }

    [Fact]
    public async Task A_slower_candidate_is_rolled_back_by_the_latency_guard()
    {
        _b.SetDefault(FakeBehavior.DelayBeforeHeaders(TimeSpan.FromMilliseconds(150)));
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
            new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 5, dwell_seconds = 0, max_latency_ratio = 1.5 });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var rollout = await JudgeUntilDecidedAsync(gw, 10);
        Assert.Equal("rolled_back", rollout["status"]!.GetValue<string>());
        Assert.Contains("median latency", rollout["steps"]![0]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_controllers_own_loop_judges_the_rollout_and_a_restart_resumes_it_where_it_was()
    {
        var root = GatewayServer.NewDataDir();
        try
        {
            var gw = await GatewayServer.StartInAsync(root, Settings);
            var (started, _) = await gw.PostAsync("/admin/aliases/chat/rollout",
                new { provider = "b", model = "m2", steps = new[] { 50, 100 }, min_requests_per_step = 3, dwell_seconds = 0 });
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
            await gw.StopAsync();

            // The rollout is in the data folder: a restart routes with it and goes on judging it, here every 0.2 s.
            gw = await GatewayServer.StartInAsync(root, [.. Settings, "--Sanjia:Routing:RolloutIntervalSeconds=0.2"]);
            Assert.Equal(50, (await RolloutAsync(gw))["percent"]!.GetValue<int>());
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while ((await RolloutAsync(gw))["status"]!.GetValue<string>() == "running")
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), (await RolloutAsync(gw)).ToJsonString());
                await SendAsync(gw, 5);
                await Task.Delay(50);
            }
            var rollout = await RolloutAsync(gw);
            Assert.Equal("completed", rollout["status"]!.GetValue<string>());
            Assert.Equal(["advance", "complete"], rollout["steps"]!.AsArray().Select(s => s!["decision"]!.GetValue<string>()));
            Assert.Equal("b/m2", (await gw.ChatAsync("chat")).Deployment);
            // Each decision of the controller is in the audit log, as the admin requests are (written just after the
            // decision is in force, hence the wait).
            string[] audited = [];
            for (var i = 0; i < 200 && audited.Length < 2; i++)
            {
                if (i > 0) await Task.Delay(50);
                audited = [.. (await gw.GetAsync("/admin/audit?actor=rollout")).Body!["data"]!.AsArray().Select(e => e!["fields"]![0]!.GetValue<string>())];
            }
            Assert.Equal(["complete", "advance"], audited);
            await gw.StopAsync();
        }
        finally
        {
            GatewayServer.DeleteDataDir(root);
        }
    }

    [Theory]
    [InlineData("nope", """{"provider":"b","model":"m2"}""", 404, "alias_not_found")]
    [InlineData("chat", """{"provider":"b","model":"typo-model"}""", 400, "invalid_deployment")]
    [InlineData("chat", """{"provider":"a","model":"m1"}""", 400, "invalid_deployment")]
    [InlineData("chat", """{"model":"m2"}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","steps":[5,25]}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","steps":[25,5,100]}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","steps":"5,100"}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","steps":[0.5,100]}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","max_error_rate_increase":2}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","min_requests_per_step":0}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","dwell_seconds":"long"}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","max_latency_ratio":-1}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","max_latency_ratio":1e309}""", 400, "invalid_request")]
    [InlineData("chat", """{"provider":"b","model":"m2","step":[5,100]}""", 400, "unknown_fields")]
    public async Task A_bad_rollout_is_refused_in_the_admin_error_format_and_changes_nothing(string alias, string body, int status, string code)
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);

        var (response, error) = await gw.PostAsync($"/admin/aliases/{alias}/rollout", body);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, error!["error"]!["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["error"]!["message"]!.GetValue<string>()));
        if (status == 404)
        {
            // Says what was refused (a rollout, not a promotion) in the admin error format.
            Assert.Equal(("invalid_request_error", null), (error["error"]!["type"]!.GetValue<string>(), error["error"]!["param"]?.GetValue<string>()));
            Assert.Equal("No rollout was started: no alias named 'nope' is configured (aliases come from the configuration, Sanjia:Models; GET /admin/aliases lists them).",
                error["error"]!["message"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await gw.GetAsync("/admin/aliases/chat/rollout")).Response.StatusCode);
        Assert.Equal(0, await SendAsync(gw, 5));
    }

    [Fact]
    public async Task One_rollout_per_alias_at_a_time_and_nothing_to_abort_is_a_404()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync(Settings);
        var (none, noneBody) = await gw.DeleteAsync("/admin/aliases/chat/rollout");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("rollout_not_found", noneBody!["error"]!["code"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await gw.PostAsync("/admin/aliases/chat/rollout", new { provider = "b", model = "m2" })).Response.StatusCode);
        var (second, error) = await gw.PostAsync("/admin/aliases/chat/rollout", new { provider = "b", model = "m2" });
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("rollout_in_progress", error!["error"]!["code"]!.GetValue<string>());

        // The defaults: 5, 25, 100 % with 100 requests and 300 s per step, 5 points of vendor failures, no latency guard.
        var rollout = await RolloutAsync(gw);
        Assert.Equal([5, 25, 100], rollout["plan"]!["steps"]!.AsArray().Select(s => s!.GetValue<int>()));
        Assert.Equal(100, rollout["plan"]!["min_requests_per_step"]!.GetValue<int>());
        Assert.Equal(300, rollout["plan"]!["dwell_seconds"]!.GetValue<double>());
        Assert.Equal(0.05, rollout["plan"]!["max_error_rate_increase"]!.GetValue<double>());
        Assert.Null(rollout["plan"]!["max_latency_ratio"]);
    }
}
