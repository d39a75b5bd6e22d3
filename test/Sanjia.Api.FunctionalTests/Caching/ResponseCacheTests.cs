using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.Caching;

/// <summary>
/// The exact response cache as a user meets it (docs/caching.md): the same request twice is answered once by the
/// vendor, the second time from the cache with <c>x-sanjia-cache: hit</c>, a zero-cost ledger row naming the original
/// request and what it saved, in every inbound protocol and as a stream; entries per key by default, per team when so
/// configured; <c>Cache-Control</c> honoured per request.
/// </summary>
public sealed class ResponseCacheTests : IAsyncLifetime
{
    private FakeOpenAiServer _upstream = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _upstream.SetDefault(FakeBehavior.Reply("a cached answer", promptTokens: 20, completionTokens: 6));
    }

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private Task<GatewayServer> StartAsync(params string[] extra) =>
        GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(_upstream), "--Sanjia:Cache:Enabled=true", .. extra]);

    private static string Body(string prompt = "What is the capital of France?", bool stream = false, double? temperature = 0, string? user = null, bool includeUsage = true)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = "chat",
            ["messages"] = new[] { new { role = "user", content = prompt } },
        };
        if (temperature is { } t) body["temperature"] = t;
        if (stream)
        {
            body["stream"] = true;
            if (includeUsage) body["stream_options"] = new { include_usage = true };
        }
        if (user is not null) body["user"] = user;
        return JsonSerializer.Serialize(body);
    }

    private static async Task<(HttpResponseMessage Response, string Text)> PostAsync(GatewayServer gw, string body, string? key = null,
        string path = "/v1/chat/completions", string? cacheControl = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new("Bearer", key);
        if (cacheControl is not null) request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        var response = await gw.Anonymous.SendAsync(request.Headers.Authorization is null ? WithMaster(request, gw) : request, HttpCompletionOption.ResponseHeadersRead);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private static HttpRequestMessage WithMaster(HttpRequestMessage request, GatewayServer gw)
    {
        request.Headers.Authorization = new("Bearer", gw.Key);
        return request;
    }

    private static string Cache(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-sanjia-cache", out var v) ? v.Single() : "(none)";

    [Fact]
    public async Task The_same_request_twice_is_a_hit_the_vendor_answers_once_and_the_hit_row_costs_nothing_and_names_the_original()
    {
        await using var gw = await StartAsync();

        var (first, firstText) = await PostAsync(gw, Body(user: "ana"));
        // Different user, metadata and whitespace: the same question for the cache.
        var (second, secondText) = await PostAsync(gw, Body(user: "bo").Replace(",", " ,\n ", StringComparison.Ordinal));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Equal(("miss", "hit"), (Cache(first), Cache(second)));
        Assert.Single(_upstream.Requests);
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", secondText);
        Assert.Equal(Content(firstText), Content(secondText));
        Assert.Equal("0", second.Headers.GetValues("x-sanjia-cost").Single());
        Assert.Equal(0m, JsonDocument.Parse(secondText).RootElement.GetProperty("usage").GetProperty("cost").GetDecimal());

        var rows = await gw.LedgerAsync(2);
        var original = Assert.Single(rows, r => r.CacheOf is null);
        var hit = Assert.Single(rows, r => r.CacheOf is not null);
        Assert.Equal(((20 * MeteringSetup.InputPrice) + (6 * MeteringSetup.OutputPrice)) / 1_000_000m, original.Cost);
        Assert.Equal((original.RequestId, 0m, original.Cost, "USD", 200), (hit.CacheOf, hit.Cost, hit.CostSaved, hit.Currency, hit.Status));
        Assert.Equal(second.Headers.GetValues("x-request-id").Single(), hit.RequestId);
        Assert.Null(hit.Deployment); // no deployment answered it
    }

    private static string Content(string completion) =>
        JsonDocument.Parse(completion).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    [Fact]
    public async Task A_streamed_answer_is_replayed_as_the_same_chunks_and_serves_complete_requests_assembled()
    {
        await using var gw = await StartAsync();

        var (first, firstText) = await PostAsync(gw, Body(stream: true));
        var (second, secondText) = await PostAsync(gw, Body(stream: true));
        var (whole, wholeText) = await PostAsync(gw, Body(stream: false));
        var (noUsage, noUsageText) = await PostAsync(gw, Body(stream: true, includeUsage: false));

        Assert.Equal(("miss", "hit", "hit", "hit"), (Cache(first), Cache(second), Cache(whole), Cache(noUsage)));
        Assert.Single(_upstream.Requests);
        var original = Events(firstText);
        var replayed = Events(secondText);
        Assert.Equal("[DONE]", replayed[^1]);
        foreach (var e in replayed[..^1]) OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", e);
        // The same chunks; only the usage chunk's cost differs (a hit costs nothing).
        Assert.Equal(original.Count, replayed.Count);
        Assert.Equal(original.Where(e => !e.Contains("\"usage\":{", StringComparison.Ordinal)), replayed.Where(e => !e.Contains("\"usage\":{", StringComparison.Ordinal)));
        Assert.Equal(0m, JsonDocument.Parse(replayed[^2]).RootElement.GetProperty("usage").GetProperty("cost").GetDecimal());

        OpenApiSpec.AssertValid("CreateChatCompletionResponse", wholeText);
        Assert.Equal("a cached answer", Content(wholeText));
        Assert.Equal(6, JsonDocument.Parse(wholeText).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // A caller that did not ask for usage gets no usage chunk.
        Assert.DoesNotContain(Events(noUsageText), e => e.Contains("\"usage\":{", StringComparison.Ordinal));

        var rows = await gw.LedgerAsync(4);
        var streamed = Assert.Single(rows, r => r.CacheOf is null);
        Assert.All(rows.Where(r => r.CacheOf is not null), r => Assert.Equal((streamed.RequestId, 0m, streamed.Cost), (r.CacheOf, r.Cost, r.CostSaved)));
        Assert.Equal(3, rows.Count(r => r.CacheOf is not null));
    }

    private static List<string> Events(string sse) =>
        [.. sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e[6..] : e)];

    [Fact]
    public async Task A_complete_answer_serves_a_streaming_request_as_a_synthesized_stream()
    {
        await using var gw = await StartAsync();

        var (first, firstText) = await PostAsync(gw, Body());
        var (second, secondText) = await PostAsync(gw, Body(stream: true));

        Assert.Equal(("miss", "hit"), (Cache(first), Cache(second)));
        Assert.Single(_upstream.Requests);
        var events = Events(secondText);
        Assert.Equal("[DONE]", events[^1]);
        foreach (var e in events[..^1]) OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", e);
        var text = string.Concat(events[..^1].Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices"))
            .Where(c => c.GetArrayLength() > 0)
            .Select(c => c[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(Content(firstText), text);
        Assert.Equal("stop", JsonDocument.Parse(events[^3]).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(26, JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Every_inbound_protocol_is_answered_from_the_cache()
    {
        await using var gw = await StartAsync();
        var messages = JsonSerializer.Serialize(new { model = "chat", max_tokens = 50, temperature = 0, messages = new[] { new { role = "user", content = "Hi from Messages" } } });
        var responses = JsonSerializer.Serialize(new { model = "chat", temperature = 0, input = "Hi from Responses" });

        foreach (var (path, body) in new[] { ("/v1/messages", messages), ("/v1/responses", responses) })
        {
            var (first, _) = await PostAsync(gw, body, path: path);
            var (second, secondText) = await PostAsync(gw, body, path: path);
            Assert.Equal((HttpStatusCode.OK, "miss", "hit"), (second.StatusCode, Cache(first), Cache(second)));
            Assert.Contains("a cached answer", secondText, StringComparison.Ordinal);
            var streamed = body[..^1] + ",\"stream\":true}";
            var (third, thirdText) = await PostAsync(gw, streamed, path: path);
            Assert.Equal((HttpStatusCode.OK, "hit"), (third.StatusCode, Cache(third)));
            Assert.Contains(path == "/v1/messages" ? "message_stop" : "response.completed", thirdText, StringComparison.Ordinal);
        }
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    public async Task Entries_are_per_key_by_default_and_shared_within_a_team_when_configured()
    {
        await using var gw = await StartAsync("--Sanjia:Models:team-chat:Deployments:0:Provider=fake", "--Sanjia:Models:team-chat:Deployments:0:Model=gpt-test",
            "--Sanjia:Models:team-chat:Cache:Scope=Team");
        var team = (await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "t" }, 201)).GetProperty("id").GetString()!;
        var (_, a) = await gw.CreateKeyAsync(new { name = "a", team_id = team });
        var (_, b) = await gw.CreateKeyAsync(new { name = "b", team_id = team });

        var statuses = new List<string>();
        foreach (var key in new[] { a, a, b })
        {
            statuses.Add(Cache((await PostAsync(gw, Body(), key)).Response));
        }
        var teamBody = Body().Replace("\"chat\"", "\"team-chat\"", StringComparison.Ordinal);
        foreach (var key in new[] { a, b })
        {
            statuses.Add(Cache((await PostAsync(gw, teamBody, key)).Response));
        }

        Assert.Equal(["miss", "hit", "miss", "miss", "hit"], statuses);
        Assert.Equal(3, _upstream.Requests.Count);
    }

    [Fact]
    public async Task No_cache_fetches_and_stores_no_store_neither_reads_nor_writes_and_other_temperatures_bypass()
    {
        await using var gw = await StartAsync();

        var noStore = Cache((await PostAsync(gw, Body(), cacheControl: "no-store")).Response);
        var afterNoStore = Cache((await PostAsync(gw, Body())).Response);          // nothing was stored: a miss, now stored
        var noCache = Cache((await PostAsync(gw, Body(), cacheControl: "No-Cache")).Response); // not read: fetched again, stored again
        var normal = Cache((await PostAsync(gw, Body())).Response);
        var warm = Cache((await PostAsync(gw, Body(temperature: 0.7))).Response);
        var unset = Cache((await PostAsync(gw, Body(temperature: null))).Response);

        Assert.Equal(("bypass", "miss", "miss", "hit", "bypass", "bypass"), (noStore, afterNoStore, noCache, normal, warm, unset));
        Assert.Equal(5, _upstream.Requests.Count);
        var hit = Assert.Single(await gw.LedgerAsync(6), r => r.CacheOf is not null);
        Assert.NotNull(hit.CostSaved);
    }

    [Fact]
    public async Task Other_temperatures_are_cached_when_configured_and_models_without_the_cache_send_no_header()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(_upstream),
            .. GatewayServer.Deployment("warm", 0, "fake", "gpt-test"), "--Sanjia:Models:warm:Cache:Enabled=true", "--Sanjia:Models:warm:Cache:AnyTemperature=true"]);
        var warm = Body(temperature: 0.9).Replace("\"chat\"", "\"warm\"", StringComparison.Ordinal);

        var first = Cache((await PostAsync(gw, warm)).Response);
        var second = Cache((await PostAsync(gw, warm)).Response);
        var off = Cache((await PostAsync(gw, Body())).Response);

        Assert.Equal(("miss", "hit", "(none)"), (first, second, off));
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    public async Task A_hit_is_not_charged_to_the_keys_budget_and_spend_reports_show_what_hits_saved()
    {
        await using var gw = await StartAsync();
        var (keyId, secret) = await gw.CreateKeyAsync(new { name = "budgeted", budget = new { amount = "10", currency = "USD", period = "total" } });

        await PostAsync(gw, Body(), secret);
        await PostAsync(gw, Body(), secret);
        var (third, _) = await PostAsync(gw, Body(), secret);
        Assert.Equal("hit", Cache(third));

        var rows = await gw.LedgerAsync(3);
        var original = Assert.Single(rows, r => r.CacheOf is null);
        var key = await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyId}");
        Assert.Equal(original.Cost, decimal.Parse(key.GetProperty("budget").GetProperty("spent").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(0m, decimal.Parse(key.GetProperty("budget").GetProperty("reserved").GetString()!, CultureInfo.InvariantCulture));

        var report = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?group_by=key");
        var row = Assert.Single(report.GetProperty("rows").EnumerateArray(), r => r.GetProperty("group").GetString() == keyId);
        Assert.Equal(2, row.GetProperty("cache_hits").GetInt32());
        Assert.Equal(2 * original.Cost!.Value, decimal.Parse(row.GetProperty("cost_saved").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(original.Cost.Value, decimal.Parse(row.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture));
    }
}
