using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Telemetry;

/// <summary>
/// <c>/metrics</c> scraped over HTTP as Prometheus does, after real traffic through fake vendors. Each test's alias
/// and deployments have their own names: the meter is one per process, so other tests' gateways add series too.
/// </summary>
public sealed partial class MetricsEndpointTests : IAsyncLifetime
{
    private const string Token = "metrics-token-0123456789abcdef";
    private readonly string _alias = "m" + Guid.NewGuid().ToString("N")[..10];
    private FakeOpenAiServer _a = null!;
    private FakeOpenAiServer _b = null!;

    public async Task InitializeAsync()
    {
        _a = await FakeOpenAiServer.StartAsync();
        _b = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private string ProviderA => _alias + "a";
    private string ProviderB => _alias + "b";

    private Task<GatewayServer> StartAsync(params string[] extra) => GatewayServer.StartWithArgsAsync(
    [
        .. GatewayServer.FastRetries,
        .. GatewayServer.Provider(ProviderA, _a.BaseUrl, _a.ApiKey),
        .. GatewayServer.Provider(ProviderB, _b.BaseUrl, _b.ApiKey),
        .. GatewayServer.Deployment(_alias, 0, ProviderA, "m1", "InputPricePerMillion=2", "OutputPricePerMillion=8"),
        .. GatewayServer.Deployment(_alias, 1, ProviderB, "m2", "InputPricePerMillion=2", "OutputPricePerMillion=8"),
        $"--Sanjia:Metrics:Token={Token}",
        .. extra,
    ]);

    private static async Task<(HttpStatusCode Status, string Body, string? ContentType)> ScrapeAsync(GatewayServer gateway, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await gateway.Anonymous.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Metrics_need_the_metrics_token_or_the_master_key_and_refuse_virtual_keys()
    {
        await using var gateway = await StartAsync();
        var (_, secret) = await gateway.CreateKeyAsync(new { name = "app" });

        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(gateway, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(gateway, secret)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(gateway, "not-the-token")).Status);
        var withToken = await ScrapeAsync(gateway, Token);
        Assert.Equal(HttpStatusCode.OK, withToken.Status);
        Assert.Equal("text/plain", withToken.ContentType);
        Assert.Equal(HttpStatusCode.OK, (await ScrapeAsync(gateway, GatewayServer.MasterKey)).Status);
        // The token opens nothing else.
        using var admin = await gateway.Anonymous.SendAsync(gateway.Request(HttpMethod.Get, "/admin/keys", Token));
        Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode);
    }

    [Fact]
    public async Task Metrics_open_to_an_allowed_network_without_a_key()
    {
        await using var gateway = await StartAsync("--Sanjia:Metrics:AllowedNetworks:0=127.0.0.0/8");
        Assert.Equal(HttpStatusCode.OK, (await ScrapeAsync(gateway, null)).Status);
    }

    [Fact]
    public async Task A_network_that_is_not_one_stops_the_start_with_its_path()
    {
        var e = await Assert.ThrowsAsync<Sanjia.Core.Configuration.ConfigurationException>(() => StartAsync("--Sanjia:Metrics:AllowedNetworks:0=10.0.0.0/33"));
        Assert.Contains("Sanjia:Metrics:AllowedNetworks:0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Traffic_with_a_fallback_and_a_failure_shows_in_the_genai_histograms_and_the_request_counters()
    {
        await using var gateway = await StartAsync("--Sanjia:Routing:Retry:MaxAttempts=2");
        var (keyId, secret) = await gateway.CreateKeyAsync(new { name = "spender" });
        using var client = new HttpClient { BaseAddress = new Uri(gateway.BaseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        // 1: answered by a. 2: a fails, b answers (a stream). 3: both fail.
        _a.Enqueue(FakeBehavior.Reply("one", promptTokens: 10, completionTokens: 5));
        using (var r = await client.SendAsync(GatewayServer.Chat(_alias, stream: false))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        _a.Enqueue(FakeBehavior.Status(503, "busy"));
        _b.Enqueue(FakeBehavior.StreamChunks(3, TimeSpan.FromMilliseconds(5)));
        using (var r = await client.SendAsync(GatewayServer.Chat(_alias, stream: true)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            await r.Content.ReadAsStringAsync();
        }
        _a.Enqueue(FakeBehavior.Status(500, "boom"));
        _b.Enqueue(FakeBehavior.Status(500, "boom"));
        using (var r = await client.SendAsync(GatewayServer.Chat(_alias, stream: false))) Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode);
        await gateway.LedgerAsync(3);

        var (status, text, _) = await ScrapeAsync(gateway, Token);
        Assert.Equal(HttpStatusCode.OK, status);
        var a = $"{ProviderA}/m1";
        var b = $"{ProviderB}/m2";

        Assert.Equal(1, Value(text, "sanjia_requests_total", ("sanjia_deployment", a), ("http_response_status_code", "200"), ("gen_ai_request_model", _alias)));
        Assert.Equal(1, Value(text, "sanjia_requests_total", ("sanjia_deployment", b), ("http_response_status_code", "200"), ("sanjia_error_class", "none")));
        Assert.Equal(1, Value(text, "sanjia_requests_total", ("sanjia_deployment", b), ("http_response_status_code", "502"), ("sanjia_error_class", "upstream")));

        // The GenAI histograms, with the buckets the conventions recommend.
        Assert.Equal(1, Value(text, "gen_ai_client_token_usage_count", ("sanjia_deployment", a), ("gen_ai_token_type", "input")));
        Assert.Equal(10, Value(text, "gen_ai_client_token_usage_sum", ("sanjia_deployment", a), ("gen_ai_token_type", "input")));
        Assert.Equal(5, Value(text, "gen_ai_client_token_usage_sum", ("sanjia_deployment", a), ("gen_ai_token_type", "output")));
        Assert.Equal(1, Value(text, "gen_ai_client_token_usage_bucket", ("sanjia_deployment", a), ("gen_ai_token_type", "input"), ("le", "16")));
        Assert.Equal(0, Value(text, "gen_ai_client_token_usage_bucket", ("sanjia_deployment", a), ("gen_ai_token_type", "input"), ("le", "4")));
        Assert.Equal(1, Value(text, "gen_ai_client_operation_duration_seconds_count", ("sanjia_deployment", a), ("gen_ai_operation_name", "chat"), ("gen_ai_provider_name", "openai")));
        Assert.NotNull(Find(text, "gen_ai_client_operation_duration_seconds_bucket", ("sanjia_deployment", a), ("le", "81.92")));
        Assert.Contains(text.Split('\n'), l => l.StartsWith("gen_ai_client_operation_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains($"sanjia_deployment=\"{b}\"", StringComparison.Ordinal) && l.Contains("error_type=", StringComparison.Ordinal));
        Assert.Equal(1, Value(text, "gen_ai_server_time_to_first_token_seconds_count", ("sanjia_deployment", b)));
        Assert.NotNull(Find(text, "gen_ai_server_time_to_first_token_seconds_bucket", ("sanjia_deployment", b), ("le", "0.001")));
        Assert.Equal(1, Value(text, "gen_ai_server_time_per_output_token_seconds_count", ("sanjia_deployment", b)));
        Assert.Null(Find(text, "gen_ai_server_time_to_first_token_seconds_count", ("sanjia_deployment", a)));

        // Cost by currency, and per key by id (never the secret).
        Assert.Equal(0.00006, Value(text, "sanjia_cost_total", ("sanjia_deployment", a), ("sanjia_currency", "USD")), 9);
        Assert.True(Value(text, "sanjia_key_tokens_total", ("sanjia_key_id", keyId), ("gen_ai_token_type", "input")) >= 10);
        Assert.True(Value(text, "sanjia_key_cost_total", ("sanjia_key_id", keyId), ("sanjia_currency", "USD")) >= 0.00006);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);

        // Deployment health and the journal backlog, read at scrape time.
        Assert.Equal(0, Value(text, "sanjia_deployment_breaker_state", ("sanjia_deployment", a)));
        Assert.Equal(0, Value(text, "sanjia_deployment_in_flight", ("sanjia_deployment", b)));
        Assert.NotNull(Find(text, "sanjia_ledger_journal_backlog"));
    }

    [Fact]
    public async Task Key_labels_are_capped_and_the_rest_counted_as_other()
    {
        await using var gateway = await StartAsync("--Sanjia:Metrics:MaxKeyLabels=2");
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var (id, secret) = await gateway.CreateKeyAsync(new { name = "k" + i });
            ids.Add(id);
            using var client = new HttpClient { BaseAddress = new Uri(gateway.BaseUrl) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            _a.Enqueue(FakeBehavior.Reply("x", promptTokens: 7, completionTokens: 1));
            using var r = await client.SendAsync(GatewayServer.Chat(_alias, stream: false));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        var (_, text, _) = await ScrapeAsync(gateway, Token);
        Assert.Equal(7, Value(text, "sanjia_key_tokens_total", ("sanjia_key_id", ids[0]), ("gen_ai_token_type", "input")));
        Assert.Equal(7, Value(text, "sanjia_key_tokens_total", ("sanjia_key_id", ids[1]), ("gen_ai_token_type", "input")));
        Assert.Null(Find(text, "sanjia_key_tokens_total", ("sanjia_key_id", ids[2])));
        Assert.Equal(14, Value(text, "sanjia_key_tokens_total", ("sanjia_key_id", "other"), ("gen_ai_token_type", "input")));
    }

    [Fact]
    public async Task Budget_used_against_budget_is_a_gauge_per_key_and_team()
    {
        await using var gateway = await StartAsync();
        var team = await gateway.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "t", budget = new { amount = "2", currency = "USD", period = "monthly" } }, 201);
        var teamId = team.GetProperty("id").GetString()!;
        var (keyId, secret) = await gateway.CreateKeyAsync(new { name = "budgeted", team_id = teamId, budget = new { amount = "1", currency = "USD", period = "daily" } });
        using var client = new HttpClient { BaseAddress = new Uri(gateway.BaseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        _a.Enqueue(FakeBehavior.Reply("x", promptTokens: 1000, completionTokens: 500));
        using (var r = await client.SendAsync(GatewayServer.Chat(_alias, stream: false))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        var (_, text, _) = await ScrapeAsync(gateway, Token);
        // 1000 input at 2 and 500 output at 8 per million: 0.006 USD, charged to the key and to its team.
        Assert.Equal(0.006, Value(text, "sanjia_budget_used", ("sanjia_budget_scope", "key"), ("sanjia_budget_id", keyId), ("sanjia_currency", "USD"), ("sanjia_budget_period", "daily")), 9);
        Assert.Equal(1, Value(text, "sanjia_budget_limit", ("sanjia_budget_scope", "key"), ("sanjia_budget_id", keyId)));
        Assert.Equal(0.006, Value(text, "sanjia_budget_used", ("sanjia_budget_scope", "team"), ("sanjia_budget_id", teamId)), 9);
        Assert.Equal(2, Value(text, "sanjia_budget_limit", ("sanjia_budget_scope", "team"), ("sanjia_budget_id", teamId)));
    }

    /// <summary>The one sample line of <paramref name="name"/> whose labels include every given pair, or null.</summary>
    private static string? Find(string text, string name, params (string Label, string Value)[] labels)
    {
        var lines = text.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(l => labels.All(p => l.Contains($"{p.Label}=\"{p.Value}\"", StringComparison.Ordinal))).ToList();
        Assert.True(lines.Count <= 1, $"{lines.Count} lines match {name}: {string.Join('\n', lines)}");
        return lines.SingleOrDefault();
    }

    private static double Value(string text, string name, params (string Label, string Value)[] labels)
    {
        var line = Find(text, name, labels);
        Assert.True(line is not null, $"no {name} with {string.Join(",", labels)} in:\n{string.Join('\n', text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)).Take(40))}");
        var m = SampleValue().Match(line!);
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\}?\s([-+0-9.eE]+|NaN)(\s\d+)?$")]
    private static partial Regex SampleValue();
}
