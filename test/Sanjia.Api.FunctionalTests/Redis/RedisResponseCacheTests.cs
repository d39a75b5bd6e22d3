using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Core.Caching;
using Sanjia.Core.Caching.Semantic;
using Sanjia.Core.Configuration;
using Sanjia.Redis;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.Redis;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>
/// The response cache's tier in Redis (<c>Sanjia:Redis:ResponseCache</c>, on with Redis): an answer fetched through one
/// gateway is a hit on another, and the tier keeps its TTL and its size limit, against a throwaway redis-server.
/// </summary>
public sealed class RedisResponseCacheTests(ITestOutputHelper output)
{
    private static string Body(string prompt, bool stream, string model = "chat") => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["model"] = model,
        ["temperature"] = 0,
        ["stream"] = stream,
        ["messages"] = new[] { new { role = "user", content = prompt } },
    });

    private static async Task<(string Cache, string Text)> PostAsync(GatewayServer gw, string body)
    {
        using var response = await gw.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Headers.GetValues("x-sanjia-cache").Single(), await response.Content.ReadAsStringAsync());
    }

    private static string Content(string completion) =>
        JsonDocument.Parse(completion).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    [SkippableFact]
    public async Task An_answer_fetched_through_one_gateway_is_a_hit_on_another_that_never_saw_it_streamed_or_not()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("Paris is the capital", promptTokens: 20, completionTokens: 6));
        string[] Args() => [.. MeteringSetup.Settings(upstream), "--Sanjia:Cache:Enabled=true",
            .. RedisFixture.GatewayArgs(redis, "cache")];
        await using var one = await GatewayServer.StartWithArgsAsync(Args());
        await using var two = await GatewayServer.StartWithArgsAsync(Args());
        using var peek = RedisConnection.Connect(redis.Configuration);
        // A store is sent to Redis without waiting, so it may land a moment after the answer: wait for it to be there.
        async Task StoredAsync(int entries)
        {
            for (var i = 0; i < 200 && await peek.GetDatabase().SortedSetLengthAsync("{cache}:cache:lru") < entries; i++) await Task.Delay(25);
            Assert.Equal(entries, await peek.GetDatabase().SortedSetLengthAsync("{cache}:cache:lru"));
        }

        var (missed, first) = await PostAsync(one, Body("What is the capital of France?", stream: false));
        await StoredAsync(1);
        var (hit, second) = await PostAsync(two, Body("What is the capital of France?", stream: false));
        Assert.Equal(("miss", "hit"), (missed, hit));
        Assert.Equal(Content(first), Content(second));
        Assert.Single(upstream.Requests);

        // A stream stored through the second is replayed by the first, and serves its complete requests assembled.
        Assert.Equal("miss", (await PostAsync(two, Body("And of Italy?", stream: true))).Cache);
        await StoredAsync(2);
        var (replayed, chunks) = await PostAsync(one, Body("And of Italy?", stream: true));
        Assert.Equal("hit", replayed);
        Assert.Contains("data: [DONE]", chunks, StringComparison.Ordinal);
        var (assembled, whole) = await PostAsync(one, Body("And of Italy?", stream: false));
        Assert.Equal("hit", assembled);
        Assert.Equal("Paris is the capital", Content(whole));
        Assert.Equal(2, upstream.Requests.Count);

        // The hit is metered on the instance that served it, naming the original request.
        var rows = await two.LedgerAsync(2);
        var row = Assert.Single(rows, r => r.CacheOf is not null);
        Assert.Equal(0m, row.Cost);
        Assert.True(row.CostSaved > 0m);
    }

    [SkippableFact]
    public async Task A_paraphrase_of_a_question_answered_through_one_gateway_is_a_semantic_hit_on_another()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("Paris.", promptTokens: 20, completionTokens: 6));
        await using var one = await GatewayServer.StartWithArgsAsync(SemanticArgs(upstream, redis, "semantic"));
        await using var two = await GatewayServer.StartWithArgsAsync(SemanticArgs(upstream, redis, "semantic"));
        using var peek = RedisConnection.Connect(redis.Configuration);
        var chatCalls = () => ChatCalls(upstream);
        // Noise on the channel (another version, a message cut short) is ignored.
        await peek.GetSubscriber().PublishAsync(RedisChannel.Literal("{semantic}:semantic"), new byte[] { 9, 1, 2 });
        await peek.GetSubscriber().PublishAsync(RedisChannel.Literal("{semantic}:semantic"), new byte[] { 1, 1, 2, 3 });

        var (missed, first) = await PostAsync(one, Body("What is the capital of France?", stream: false));
        Assert.Equal("miss", missed);
        // The answer goes to Redis and the question to the other gateway's index, neither waited for by the request.
        var semantic = two.Service<SemanticCache>();
        for (var i = 0; i < 400 && (semantic.Peers!.Count < 1 || await peek.GetDatabase().SortedSetLengthAsync("{semantic}:cache:lru") < 1); i++) await Task.Delay(25);
        Assert.Equal((1, 1), (semantic.Peers!.Count, semantic.Index.Count));

        // Asked in other words through the second gateway, which never saw the question: answered from the cache.
        var (hit, second) = await PostAsync(two, Body("Which city is the capital of France?", stream: false));
        Assert.Equal("hit", hit);
        Assert.Equal(Content(first), Content(second));
        Assert.Equal(1, chatCalls());
        var original = Assert.Single(await one.LedgerAsync(2), r => r.Endpoint == "/v1/chat/completions");
        var served = Assert.Single(await two.LedgerAsync(2), r => r.Endpoint == "/v1/chat/completions");
        Assert.Equal((original.RequestId, 0m), (served.CacheOf, served.Cost));

        // A question whose answer is gone from Redis (evicted; here flushed) before the second gateway needed it: a
        // miss, answered upstream, and the peer's entry is forgotten.
        Assert.Equal("miss", (await PostAsync(one, Body("What is the capital of Germany?", stream: false))).Cache);
        for (var i = 0; i < 400 && semantic.Peers!.Count < 2; i++) await Task.Delay(25);
        Assert.Equal(2, semantic.Peers!.Count);
        using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true"))
        {
            await admin.GetServers()[0].FlushAllDatabasesAsync();
        }
        var (gone, _) = await PostAsync(two, Body("Which city is the capital of Germany?", stream: false));
        Assert.Equal("miss", gone);
        Assert.Equal(3, chatCalls());
        Assert.Equal(1, semantic.Peers!.Count);
    }

    /// <summary>Gateways with the semantic cache on <c>chat</c> (the built-in MiniLM), sharing <paramref name="redis"/> under <paramref name="prefix"/>.</summary>
    private static string[] SemanticArgs(FakeOpenAiServer upstream, RedisServer redis, string prefix, params string[] more) =>
        [.. MeteringSetup.Settings(upstream), "--Sanjia:Local:Embeddings=true", "--Sanjia:Models:chat:Cache:Semantic:Enabled=true",
            .. RedisFixture.GatewayArgs(redis, prefix), .. more];

    private static int ChatCalls(FakeOpenAiServer upstream) => upstream.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));

    /// <summary>Polls <paramref name="condition"/> every 25 ms, for at most 10 s (what is sent without waiting, or read in the background, lands meanwhile).</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 400 && !await condition(); i++) await Task.Delay(25);
    }

    [SkippableFact]
    public async Task A_gateway_restarted_after_a_question_was_indexed_rebuilds_its_semantic_index_from_redis_and_answers_a_paraphrase()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("Paris.", promptTokens: 20, completionTokens: 6));
        using var peek = RedisConnection.Connect(redis.Configuration);
        var one = await GatewayServer.StartWithArgsAsync(SemanticArgs(upstream, redis, "restart"));
        var dataDir = one.DataDir;
        try
        {
            var (missed, first) = await PostAsync(one, Body("What is the capital of France?", stream: false));
            Assert.Equal("miss", missed);
            await UntilAsync(async () => await peek.GetDatabase().StreamLengthAsync("{restart}:semantic:log") >= 1
                && await peek.GetDatabase().SortedSetLengthAsync("{restart}:cache:lru") >= 1);
            await one.StopAsync();

            // The same instance started again (its memory empty, the question's only indexer gone): the question comes
            // back from the log in Redis, in the background, and the paraphrase is answered from the answer in Redis.
            await using var restarted = await GatewayServer.StartInAsync(dataDir, SemanticArgs(upstream, redis, "restart"));
            var semantic = restarted.Service<SemanticCache>();
            await UntilAsync(() => Task.FromResult(semantic.Peers!.Count >= 1));
            Assert.Equal((1, 1), (semantic.Peers!.Count, semantic.Index.Count));
            var (hit, second) = await PostAsync(restarted, Body("Which city is the capital of France?", stream: false));
            Assert.Equal("hit", hit);
            Assert.Equal(Content(first), Content(second));
            Assert.Equal(1, ChatCalls(upstream));
            var rows = await restarted.LedgerAsync(2);
            var original = Assert.Single(rows, r => r.Endpoint == "/v1/chat/completions" && r.CacheOf is null);
            var served = Assert.Single(rows, r => r.CacheOf is not null);
            Assert.Equal((original.RequestId, 0m), (served.CacheOf, served.Cost));
        }
        finally
        {
            await one.StopAsync();
            GatewayServer.DeleteDataDir(dataDir);
        }
    }

    [SkippableFact]
    public async Task A_gateway_started_later_does_not_take_a_question_whose_answer_has_expired_from_the_semantic_log()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        upstream.SetDefault(FakeBehavior.Reply("Madrid.", promptTokens: 20, completionTokens: 6));
        // "brief" keeps its answers one second.
        string[] Args() => SemanticArgs(upstream, redis, "expiry", [.. GatewayServer.Deployment("brief", 0, "fake", "gpt-test"),
            "--Sanjia:Models:brief:Cache:Semantic:Enabled=true", "--Sanjia:Models:brief:Cache:TtlSeconds=1"]);
        using var peek = RedisConnection.Connect(redis.Configuration);
        await using var one = await GatewayServer.StartWithArgsAsync(Args());
        Assert.Equal("miss", (await PostAsync(one, Body("What is the capital of France?", stream: false))).Cache);
        Assert.Equal("miss", (await PostAsync(one, Body("What is the capital of Spain?", stream: false, "brief"))).Cache);
        await UntilAsync(async () => await peek.GetDatabase().StreamLengthAsync("{expiry}:semantic:log") >= 2);
        var log = await peek.GetDatabase().StreamRangeAsync("{expiry}:semantic:log");
        Assert.Equal(2, log.Length);
        var france = RedisSemanticFeed.Decode((byte[]?)log[0]["q"])!.Value.Question;
        await Task.Delay(1500);

        // Read newest first, the expired question comes before the live one: once the live one is in, the other was passed over.
        await using var later = await GatewayServer.StartWithArgsAsync(Args());
        var semantic = later.Service<SemanticCache>();
        await UntilAsync(() => Task.FromResult(semantic.Peers!.Knows(france.Entry)));
        Assert.Equal((1, 1), (semantic.Peers!.Count, semantic.Index.Count));
        Assert.Equal("miss", (await PostAsync(later, Body("Which city is the capital of Spain?", stream: false, "brief"))).Cache);
        Assert.Equal("hit", (await PostAsync(later, Body("Which city is the capital of France?", stream: false))).Cache);
        Assert.Equal(3, ChatCalls(upstream));
    }

    [SkippableFact]
    public async Task A_question_published_while_a_gateway_was_disconnected_reaches_its_semantic_index_after_the_reconnection()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(SemanticArgs(upstream, redis, "missed"));
        var peers = gateway.Service<SemanticCache>().Peers!;
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        var channel = RedisChannel.Literal("{missed}:semantic");
        await UntilAsync(async () => await admin.GetServers()[0].SubscriptionSubscriberCountAsync(channel) >= 1);

        // Its subscription cut, a peer's question is logged and published to no one (tried again should the gateway
        // have subscribed again in between).
        SharedQuestion? missed = null;
        var vector = Enumerable.Range(0, 384).Select(i => MathF.Sin(i)).ToArray();
        for (var attempt = 1; attempt <= 5 && missed is null; attempt++)
        {
            await admin.GetServers()[0].ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
            var question = new SharedQuestion(1, vector, (UInt128)attempt, "How do I reset my password?", DateTimeOffset.UtcNow.AddHours(1));
            var message = RedisSemanticFeed.Encode(Guid.NewGuid(), question);
            await admin.GetDatabase().StreamAddAsync("{missed}:semantic:log", "q", message);
            if (await admin.GetSubscriber().PublishAsync(channel, message) == 0) missed = question;
        }
        Assert.NotNull(missed);
        await UntilAsync(() => Task.FromResult(peers.Knows(missed.Entry)));
        Assert.True(peers.Knows(missed.Entry));
    }

    private static CacheEntry Entry(int i, int bytes, TimeSpan ttl) =>
        CacheEntry.FromComplete((UInt128)i, $"req-{i}", new CompleteChatResponse(Encoding.UTF8.GetBytes(new string((char)('a' + i), bytes)), new TokenUsage(10, 5)),
            new Cost(0.25m, "USD"), 0, ttl);

    [SkippableFact]
    public async Task The_tier_evicts_the_least_recently_used_above_its_limit_and_redis_expires_entries_after_their_ttl()
    {
        await using var server = await RedisFixture.ServerAsync();
        using var connection = RedisConnection.Connect(server.Configuration);
        // Room for three entries of 1 KB (each is a little larger once encoded), not four.
        var options = new RedisOptions { Configuration = server.Configuration, KeyPrefix = "lru", ResponseCacheMaxBytes = 3500 };
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tier = new RedisResponseCache(connection, options, time, NullLogger<RedisResponseCache>.Instance);
        var hour = TimeSpan.FromHours(1);
        async Task<bool> Has(int i) => await tier.GetAsync((UInt128)i, CancellationToken.None) is not null;
        async Task Store(int i)
        {
            time.Advance(TimeSpan.FromSeconds(1)); // recency in ms on the tier's clock
            tier.Set(Entry(i, 1000, hour));
            await connection.GetDatabase().PingAsync(); // the store is sent without waiting: let it land
        }

        for (var i = 1; i <= 3; i++) await Store(i);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await Has(1)); // 1 is now the most recently used
        await Store(4);
        var held = new List<bool>();
        for (var i = 1; i <= 4; i++) held.Add(await Has(i));
        Assert.Equal([true, false, true, true], held);
        var total = (long)await connection.GetDatabase().StringGetAsync("{lru}:cache:bytes");
        output.WriteLine($"after four stores of 1 KB with a limit of 3500 bytes: {total} bytes held");
        Assert.InRange(total, 3000, 3500);

        var back = await tier.GetAsync(3, CancellationToken.None);
        Assert.NotNull(back);
        Assert.Equal(("req-3", new TokenUsage(10, 5), new Cost(0.25m, "USD")), (back.RequestId, back.Usage, back.Cost));
        Assert.Equal(Entry(3, 1000, hour).Body, back.Body);
        Assert.InRange(back.Ttl, TimeSpan.FromMinutes(59), hour);

        // Redis expires an entry at its TTL; the next store drops its bytes from the total.
        tier.Set(Entry(5, 100, TimeSpan.FromSeconds(2)));
        await connection.GetDatabase().PingAsync();
        Assert.True(await Has(5));
        await Task.Delay(2500);
        Assert.False(await Has(5));

        // Larger than the whole limit: never stored.
        tier.Set(Entry(6, 4000, hour));
        await connection.GetDatabase().PingAsync();
        Assert.False(await Has(6));
    }

    [SkippableFact]
    public async Task Without_redis_lookups_are_misses_and_stores_are_dropped_and_it_works_again_when_redis_is_back()
    {
        await using var server = await RedisFixture.ServerAsync();
        using var connection = RedisConnection.Connect(server.Configuration);
        var tier = new RedisResponseCache(connection, new RedisOptions { Configuration = server.Configuration }, TimeProvider.System,
            NullLogger<RedisResponseCache>.Instance);
        await server.StopAsync();
        for (var i = 0; i < 100 && connection.IsConnected; i++) await Task.Delay(50);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(await tier.GetAsync(1, CancellationToken.None));
        tier.Set(Entry(1, 100, TimeSpan.FromHours(1)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"{watch.Elapsed}");

        await server.RestartAsync();
        await RedisFixture.ReconnectedAsync(connection);
        tier.Set(Entry(1, 100, TimeSpan.FromHours(1)));
        await connection.GetDatabase().PingAsync();
        Assert.NotNull(await tier.GetAsync(1, CancellationToken.None));
    }

    [Fact]
    public void Chunks_read_back_as_they_were_stored_and_other_bytes_read_as_no_entry()
    {
        StoredChunk[] chunks = [new("data: {\"a\":1}"u8.ToArray(), -1, false), new("data: {\"usage\":{}}"u8.ToArray(), 17, true)];
        var entry = CacheEntry.FromChunks(7, "req-7", chunks, chunks.Sum(c => (long)c.Payload.Length), new TokenUsage(3, 4, CachedInput: 1, Reasoning: 2, Estimated: true, CacheWrite: 5),
            Cost.Unpriced, 0, TimeSpan.FromSeconds(5));
        var back = CacheEntryFormat.Decode(7, CacheEntryFormat.Encode(entry), 0, TimeSpan.FromSeconds(5))!;
        Assert.Equal((entry.RequestId, entry.Usage, entry.Cost, entry.Size), (back.RequestId, back.Usage, back.Cost, back.Size));
        Assert.Null(back.Body);
        Assert.Equal(chunks.Select(c => (Convert.ToHexString(c.Payload), c.UsageEnd, c.UsageOnly)),
            back.Chunks!.Select(c => (Convert.ToHexString(c.Payload), c.UsageEnd, c.UsageOnly)));
        var encoded = CacheEntryFormat.Encode(entry);
        Assert.Null(CacheEntryFormat.Decode(7, encoded[..^3], 0, TimeSpan.FromSeconds(5))); // cut short
        encoded[0] = 99;
        Assert.Null(CacheEntryFormat.Decode(7, encoded, 0, TimeSpan.FromSeconds(5))); // another version
    }
}
