using System.Globalization;
using System.Net;
using System.Text.Json;
using Npgsql;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Abstractions;
using Sanjia.Core.Metering;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Postgres;
using Sanjia.Testing.Redis;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>
/// Gateways on one Redis (<c>Sanjia:Redis:Configuration</c>) through real HTTP: two instances in this process (the keys
/// they share come from one PostgreSQL database) acting as one for budgets and rate limits; Redis stopped and started
/// again; the <c>x-ratelimit-*</c> headers; <c>/health/ready</c> per dependency.
/// </summary>
public sealed class RedisGatewayTests(ITestOutputHelper output)
{
    private static async Task<string> DatabaseAsync()
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.False(PostgresServer.RequiredByCi, $"CI is set, so PostgreSQL is required: {reason}");
            Skip.If(true, reason);
        }
        var server = await PostgresServer.GetAsync();
        return await server.CreateDatabaseAsync($"sanjia_redis_{Guid.NewGuid():N}");
    }

    private static string[] RedisArgs(RedisServer redis, string prefix, params string[] more) => [.. RedisFixture.GatewayArgs(redis, prefix), .. more];

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> ChatAsync(GatewayServer gw, string secret, int i, bool stream = false)
    {
        var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", secret);
        m.Content = MeteringSetup.ChatBody($"Request number {i} for the shared budget", stream: stream, maxTokens: 20);
        var r = await gw.Anonymous.SendAsync(m);
        return (r.StatusCode, await r.Content.ReadAsStringAsync(), r);
    }

    private static string? Code(string body) =>
        JsonDocument.Parse(body).RootElement.GetProperty("error").TryGetProperty("code", out var c) ? c.GetString() : null;

    [SkippableFact]
    public async Task Three_hundred_concurrent_requests_over_two_gateways_never_settle_more_than_one_shared_budget()
    {
        var database = await DatabaseAsync();
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("one two three four five six seven eight nine ten", completionTokens: 10) with { HeaderDelay = TimeSpan.FromMilliseconds(20) });
        string[] Args() => [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}", .. RedisArgs(redis, "budget300")];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        const decimal budget = 2m;
        var (keyId, secret) = await a.CreateKeyAsync(new { name = "shared", budget = new { amount = budget, currency = "USD", period = "monthly" } });
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => ChatAsync(i % 2 == 0 ? a : b, secret, i, stream: i % 3 == 0)));
        var admitted = results.Count(r => r.Status == HttpStatusCode.OK);
        var refused = results.Where(r => r.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(300, admitted + refused.Count);
        Assert.All(refused, r => Assert.Equal("budget_exceeded", Code(r.Body)));
        Assert.Equal(admitted, upstream.Requests.Count); // refused requests never reached the vendor

        await a.Service<JournaledLedger>().FlushAsync();
        await b.Service<JournaledLedger>().FlushAsync();
        await using var ds = NpgsqlDataSource.Create(database);
        await using var cmd = ds.CreateCommand("SELECT count(*) FILTER (WHERE status = 200), coalesce(sum(cost), 0) FROM ledger WHERE key_id = $1");
        cmd.Parameters.Add(new() { Value = keyId });
        await using var row = await cmd.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync());
        var (rows, settled) = (row.GetInt64(0), row.GetDecimal(1));

        // The budget as either instance reports it, once every settlement (sent without waiting) has arrived.
        JsonElement status = default;
        for (var i = 0; i < 100; i++)
        {
            status = (await b.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyId}")).GetProperty("budget");
            if (Dec(status, "reserved") == 0m) break;
            await Task.Delay(50);
        }
        output.WriteLine($"300 concurrent requests over two gateways: {admitted} admitted, {refused.Count} refused (budget_exceeded); " +
            $"ledger: {rows} rows, {settled} USD settled; Redis: spent {Dec(status, "spent")}, reserved {Dec(status, "reserved")}; budget {budget} USD");
        Assert.Equal(admitted, rows);
        Assert.InRange(admitted, 1, 299);
        Assert.True(settled <= budget, $"settled {settled} exceeds the budget {budget}");
        Assert.Equal(0m, Dec(status, "reserved"));
        // Redis counts each settlement rounded up to a billionth of a dollar.
        Assert.InRange(Dec(status, "spent") - settled, 0m, admitted * 0.000000001m);
    }

    private static decimal Dec(JsonElement e, string name) => decimal.Parse(e.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);

    [SkippableFact]
    public async Task An_rpm_limit_holds_across_two_gateways_and_each_answer_carries_openais_rate_limit_headers()
    {
        var database = await DatabaseAsync();
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("ok", completionTokens: 2) with { PromptTokens = 3 }); // 5 tokens a request
        string[] Args() => [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}", .. RedisArgs(redis, "rpm")];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        // 60 TPM: a token drains per second, so the tokens of the admitted requests are still visible afterwards.
        var (_, secret) = await a.CreateKeyAsync(new { name = "limited", rpm_limit = 5, tpm_limit = 60 });
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        var started = DateTime.UtcNow;
        var results = new List<(HttpStatusCode Status, string Body, HttpResponseMessage Response)>();
        for (var i = 0; i < 10; i++) results.Add(await ChatAsync(i % 2 == 0 ? a : b, secret, i));
        var elapsed = DateTime.UtcNow - started;
        var admitted = results.Count(r => r.Status == HttpStatusCode.OK);
        output.WriteLine($"rpm_limit 5 over two gateways: {admitted} of 10 admitted in {elapsed.TotalSeconds:0.0} s");
        // Five at once, then one every 12 s (only if this machine took that long).
        Assert.InRange(admitted, 5, 5 + (int)(elapsed.TotalSeconds / 12));
        Assert.Equal(admitted, upstream.Requests.Count);

        var first = results[0].Response.Headers;
        Assert.Equal("5", first.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("4", first.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("12s", first.GetValues("x-ratelimit-reset-requests").Single()); // one request's worth of 60 s / 5
        Assert.Equal("60", first.GetValues("x-ratelimit-limit-tokens").Single());
        Assert.Equal("60", first.GetValues("x-ratelimit-remaining-tokens").Single());
        Assert.Equal("0s", first.GetValues("x-ratelimit-reset-tokens").Single());
        var fifth = results[4].Response.Headers;
        Assert.Equal("0", fifth.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Matches(@"^(5[0-9]|60|4[89])(\.\d{1,3})?s$|^1m0s$", fifth.GetValues("x-ratelimit-reset-requests").Single());

        var limited = results.First(r => r.Status == HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", Code(limited.Body));
        Assert.Equal("0", limited.Response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.InRange(int.Parse(limited.Response.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture), 1, 12);
        // The tokens of the admitted requests (5 each) were counted by whichever instance served them, less what has
        // drained since (one a second). Settlements go to Redis after the responses, in the background: on a loaded
        // machine the other instance's may still be on their way, so ask again (refused asks add no tokens) for a while.
        long remainingTokens;
        int drained;
        var asked = 0;
        do
        {
            if (asked++ > 0) await Task.Delay(100);
            var after = await ChatAsync(a, secret, 99);
            remainingTokens = long.Parse(after.Response.Headers.GetValues("x-ratelimit-remaining-tokens").Single(), CultureInfo.InvariantCulture);
            drained = (int)Math.Ceiling((DateTime.UtcNow - started).TotalSeconds);
        }
        while (remainingTokens > 60 - 5 * admitted + drained && asked < 50);
        output.WriteLine($"tokens left after them: {remainingTokens} of 60 (asked {asked} times)");
        Assert.InRange(remainingTokens, 60 - 5 * admitted, Math.Min(59, 60 - 5 * admitted + drained));
    }

    [SkippableFact]
    public async Task After_a_redis_restart_a_keys_rpm_and_tpm_are_rebuilt_from_the_ledger_of_every_instance()
    {
        var database = await DatabaseAsync();
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("ok", completionTokens: 2) with { PromptTokens = 3 }); // 5 tokens a request
        string[] Args() => [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}", .. RedisArgs(redis, "rebuild")];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        var (_, secret) = await a.CreateKeyAsync(new { name = "limited", rpm_limit = 4, tpm_limit = 60 });
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        var started = DateTime.UtcNow;
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.OK, (await ChatAsync(i % 2 == 0 ? a : b, secret, i)).Status);
        // The rows are in the shared ledger (each journal drains within milliseconds; here at once).
        await a.Service<JournaledLedger>().FlushAsync();
        await b.Service<JournaledLedger>().FlushAsync();

        await redis.RestartAsync();
        await RedisFixture.ReconnectedAsync((StackExchange.Redis.ConnectionMultiplexer)a.Service<StackExchange.Redis.IConnectionMultiplexer>());
        await RedisFixture.ReconnectedAsync((StackExchange.Redis.ConnectionMultiplexer)b.Service<StackExchange.Redis.IConnectionMultiplexer>());
        var (status, body, response) = await ChatAsync(b, secret, 99);
        var elapsed = DateTime.UtcNow - started;
        var tokensLeft = long.Parse(response.Headers.GetValues("x-ratelimit-remaining-tokens").Single(), CultureInfo.InvariantCulture);
        output.WriteLine($"rpm_limit 4, four requests over two gateways, Redis restarted empty: the fifth got {(int)status} after {elapsed.TotalSeconds:0.0} s, " +
            $"{tokensLeft} of 60 tokens left");
        // Four requests' minute, rebuilt from both instances' rows: refused (unless this machine took the 15 s that
        // earn the next one). An empty Redis alone would have admitted it.
        if (elapsed < TimeSpan.FromSeconds(14))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, status);
            Assert.Equal("rate_limit_exceeded", Code(body));
            Assert.Equal("0", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            Assert.Equal(4, upstream.Requests.Count);
        }
        // 20 tokens were used, draining one a second.
        Assert.InRange(tokensLeft, 40, Math.Min(59, 40 + (int)Math.Ceiling(elapsed.TotalSeconds)));
    }

    [Fact]
    public void A_keys_ledger_rows_replayed_through_gcra_owe_what_the_lost_state_would_have()
    {
        var now = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
        LedgerEntry Row(string id, int secondsAgo, int tokens, string? deployment = "fake/gpt-test", int attempt = 1) => new()
        {
            RequestId = id, Attempt = attempt, Timestamp = now.AddSeconds(-secondsAgo), Endpoint = "chat", Model = "chat",
            Deployment = deployment, Usage = new Sanjia.Abstractions.TokenUsage(tokens, 0), Status = 200,
        };
        var us = (now - DateTimeOffset.UnixEpoch).Ticks / 10;
        // rpm 6 (10 s a request): three requests 5 s ago, one of them over two attempts, and a refusal (no deployment).
        var rows = new[] { Row("r1", 5, 10, attempt: 1), Row("r1", 5, 20, attempt: 2), Row("r2", 5, 30), Row("r3", 5, 0), Row("refused", 4, 0, deployment: null) };
        var (rpm, tpm) = Sanjia.Redis.RedisSharedState.LimitDebts(rows, rpm: 6, tpm: 600, us);
        Assert.Equal(25_000_000, rpm); // 3 × 10 s from 5 s ago
        Assert.Equal(1_000_000, tpm); // 60 tokens at 600 a minute: 6 s from 5 s ago
        // Rows older than what they owe: nothing left.
        Assert.Equal((0, 0), Sanjia.Redis.RedisSharedState.LimitDebts([Row("old", 50, 10)], 6, 600, us));
    }

    [SkippableFact]
    public async Task A_key_created_or_revoked_through_one_gateway_is_known_to_the_other_within_a_second()
    {
        var database = await DatabaseAsync();
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        string[] Args() => [.. MeteringSetup.Settings(upstream), $"--Sanjia:Storage:Postgres={database}", .. RedisArgs(redis, "changes")];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        // Created through A after B started: B loads it when A announces it.
        var (keyId, secret) = await a.CreateKeyAsync(new { name = "roaming" });
        var known = await UntilStatusAsync(b, secret, HttpStatusCode.OK);
        await a.AdminAsync(HttpMethod.Delete, $"/admin/keys/{keyId}");
        var refused = await UntilStatusAsync(b, secret, HttpStatusCode.Unauthorized);
        output.WriteLine($"through A, seen by B: created after {known.TotalMilliseconds:0} ms, revoked after {refused.TotalMilliseconds:0} ms");
        Assert.True(known < TimeSpan.FromSeconds(1) && refused < TimeSpan.FromSeconds(1), $"{known}, {refused}");
    }

    /// <summary>How long until a request with <paramref name="secret"/> gets <paramref name="status"/> (polling; fails after 10 s).</summary>
    private static async Task<TimeSpan> UntilStatusAsync(GatewayServer gw, string secret, HttpStatusCode status)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var (got, _, _) = await ChatAsync(gw, secret, 0);
            if (got == status) return watch.Elapsed;
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"still {got} after 10 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Without_redis_the_in_memory_limits_send_the_same_headers_and_a_key_without_limits_sends_none()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        var (_, limitedSecret) = await gw.CreateKeyAsync(new { name = "limited", rpm_limit = 3, tpm_limit = 1000 });
        var (_, freeSecret) = await gw.CreateKeyAsync(new { name = "free" });

        var limited = await ChatAsync(gw, limitedSecret, 1);
        Assert.Equal(HttpStatusCode.OK, limited.Status);
        Assert.Equal("3", limited.Response.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.InRange(int.Parse(limited.Response.Headers.GetValues("x-ratelimit-remaining-requests").Single(), CultureInfo.InvariantCulture), 0, 2);
        Assert.Matches(@"^([1-9]|[1-5][0-9]|60)(\.\d{1,3})?s$|^\d{1,3}ms$|^1m0s$", limited.Response.Headers.GetValues("x-ratelimit-reset-requests").Single());
        Assert.Equal("1000", limited.Response.Headers.GetValues("x-ratelimit-limit-tokens").Single());

        var free = await ChatAsync(gw, freeSecret, 2);
        Assert.Equal(HttpStatusCode.OK, free.Status);
        Assert.DoesNotContain(free.Response.Headers, h => h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase));
    }

    [SkippableFact]
    public async Task With_redis_stopped_a_budgeted_key_gets_503_budget_store_unavailable_others_are_served_and_all_recovers_after_a_restart()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(upstream), .. RedisArgs(redis, "down")]);
        var (budgetedId, budgeted) = await gw.CreateKeyAsync(new { name = "budgeted", budget = new { amount = 100, currency = "USD", period = "daily" } });
        var (_, free) = await gw.CreateKeyAsync(new { name = "free" });
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(gw, budgeted, 1)).Status);
        var ready = await ReadyAsync(gw);
        Assert.Equal("ready", ready.Body.GetProperty("status").GetString());
        Assert.Equal("ok", ready.Body.GetProperty("dependencies").GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal("ok", ready.Body.GetProperty("dependencies").GetProperty("journal").GetProperty("status").GetString());

        await redis.StopAsync();
        var refused = await ChatAsync(gw, budgeted, 2);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal("budget_store_unavailable", Code(refused.Body));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(gw, free, 3)).Status);
        ready = await ReadyAsync(gw);
        Assert.Equal(200, ready.Status); // every instance shares Redis: reported, not taken out of the balancer
        Assert.Equal("degraded", ready.Body.GetProperty("status").GetString());
        Assert.Equal("failing", ready.Body.GetProperty("dependencies").GetProperty("redis").GetProperty("status").GetString());

        // Redis comes back empty: the budget is rebuilt from the ledger (one request's spend) before admitting.
        await redis.RestartAsync();
        for (var i = 0; i < 200 && (await ReadyAsync(gw)).Body.GetProperty("status").GetString() != "ready"; i++) await Task.Delay(100);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(gw, budgeted, 4)).Status);
        await gw.Service<JournaledLedger>().FlushAsync();
        var ledger = MeteringSetup.LedgerTotals(gw.DatabasePath, budgetedId)["USD"];
        JsonElement status = default;
        for (var i = 0; i < 100; i++)
        {
            status = (await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{budgetedId}")).GetProperty("budget");
            if (Dec(status, "reserved") == 0m) break;
            await Task.Delay(50);
        }
        output.WriteLine($"after the Redis restart: ledger {ledger} USD for two requests, Redis spent {Dec(status, "spent")} USD");
        Assert.InRange(Dec(status, "spent") - ledger, 0m, 0.000000002m);
    }

    [SkippableFact]
    public async Task With_FailOpen_a_budgeted_key_is_served_while_redis_is_down()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(upstream), .. RedisArgs(redis, "open", "--Sanjia:Redis:FailOpen=true")]);
        var (_, budgeted) = await gw.CreateKeyAsync(new { name = "budgeted", budget = new { amount = 100, currency = "USD", period = "daily" } });
        await redis.StopAsync();
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(gw, budgeted, 1)).Status);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public void A_redis_configuration_that_does_not_parse_stops_start_up_naming_the_path_without_the_password()
    {
        var dataDir = GatewayServer.NewDataDir();
        try
        {
            var error = Assert.Throws<Sanjia.Core.Configuration.ConfigurationException>(() => Sanjia.Hosting.GatewayApp.Build(
                [.. GatewayServer.BaseArgs(dataDir), "--Sanjia:Redis:Configuration=127.0.0.1:6379,password=secret,bogus=1", "--Sanjia:Redis:HoldSeconds=0"]));
            Assert.Contains(error.Errors, e => e.StartsWith("Sanjia:Redis:Configuration: not a StackExchange.Redis configuration string", StringComparison.Ordinal));
            Assert.Contains(error.Errors, e => e.StartsWith("Sanjia:Redis:HoldSeconds", StringComparison.Ordinal));
            Assert.DoesNotContain(error.Errors, e => e.Contains("secret", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<(int Status, JsonElement Body)> ReadyAsync(GatewayServer gw)
    {
        using var r = await gw.Anonymous.GetAsync("/health/ready");
        return ((int)r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
