using System.Text;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Caching;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Tests.Caching;

/// <summary>The cache stage over a counting upstream, with the clock faked: TTL, LRU under the size limit, the canonical key.</summary>
public sealed class ResponseCacheCoreTests
{
    /// <summary>Answers "answer N" to its Nth call (the semantic cache's tests use it too).</summary>
    internal sealed class CountingUpstream : CallHandler<ChatContext, ChatOutcome>
    {
        public int Calls;

        public override ValueTask<ChatOutcome> HandleAsync(ChatContext context, CancellationToken cancellationToken)
        {
            Calls++;
            var body = Encoding.UTF8.GetBytes($$$"""{"id":"chatcmpl-{{{Calls}}}","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer {{{Calls}}}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}""");
            return new(new CompleteChatResponse(body, new TokenUsage(3, 2)));
        }
    }

    private static readonly ResolvedModel Model = new("chat", ModelKind.Chat, [], IsAlias: true) { Cache = new CachePolicy(CacheScope.Key, TimeSpan.FromSeconds(60), false) };

    private static ChatContext Context(string prompt, string id = "req", Caller? caller = null) =>
        new(id, "/v1/chat/completions", ChatRequestParser.Parse(Encoding.UTF8.GetBytes($$"""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"{{prompt}}"}]}""")).Request!,
            Model, caller ?? Caller.Master, 0);

    private static async Task<(CacheStatus Status, string Content)> AskAsync(CacheHandler handler, string prompt, Caller? caller = null)
    {
        var context = Context(prompt, caller: caller);
        var outcome = await handler.HandleAsync(context, CancellationToken.None);
        var complete = Assert.IsType<CompleteChatResponse>(outcome.Response);
        var content = System.Text.Json.JsonDocument.Parse(complete.Body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        return (context.CacheStatus, content);
    }

    [Fact]
    public async Task An_entry_answers_until_its_ttl_has_passed_on_the_clock_then_the_upstream_is_asked_again()
    {
        var time = new FakeTimeProvider();
        var upstream = new CountingUpstream();
        var handler = new CacheHandler(upstream, new ResponseCache(1 << 20, time), pricer: null);

        var first = await AskAsync(handler, "q");
        time.Advance(TimeSpan.FromSeconds(59));
        var before = await AskAsync(handler, "q");
        time.Advance(TimeSpan.FromSeconds(1));
        var after = await AskAsync(handler, "q");

        Assert.Equal((CacheStatus.Miss, "answer 1"), first);
        Assert.Equal((CacheStatus.Hit, "answer 1"), before);
        Assert.Equal((CacheStatus.Miss, "answer 2"), after);
        Assert.Equal(2, upstream.Calls);
    }

    [Fact]
    public async Task Past_the_size_limit_the_least_recently_used_entry_goes_first()
    {
        var upstream = new CountingUpstream();
        var entrySize = CacheEntry.FromComplete(0, "r", (CompleteChatResponse)(await upstream.HandleAsync(Context("x"), CancellationToken.None)).Response!, Cost.Unpriced, 0, TimeSpan.Zero).Size;
        upstream.Calls = 0;
        var cache = new ResponseCache((3 * entrySize) + (entrySize / 2), new FakeTimeProvider()); // room for three
        var handler = new CacheHandler(upstream, cache, pricer: null);

        await AskAsync(handler, "a");
        await AskAsync(handler, "b");
        await AskAsync(handler, "c");
        Assert.Equal(CacheStatus.Hit, (await AskAsync(handler, "a")).Status); // a is now the most recent; b the least
        await AskAsync(handler, "d");                                         // evicts b

        Assert.Equal(3, cache.Count);
        Assert.True(cache.Bytes <= cache.MaxBytes);
        Assert.Equal([CacheStatus.Hit, CacheStatus.Hit, CacheStatus.Hit, CacheStatus.Miss],
            [(await AskAsync(handler, "a")).Status, (await AskAsync(handler, "c")).Status, (await AskAsync(handler, "d")).Status, (await AskAsync(handler, "b")).Status]);
        Assert.Equal(5, upstream.Calls);
    }

    [Fact]
    public async Task An_answer_larger_than_the_whole_cache_is_not_stored()
    {
        var upstream = new CountingUpstream();
        var cache = new ResponseCache(64, new FakeTimeProvider());
        var handler = new CacheHandler(upstream, cache, pricer: null);

        await AskAsync(handler, "a");
        Assert.Equal(CacheStatus.Miss, (await AskAsync(handler, "a")).Status);
        Assert.Equal((0, 0L), (cache.Count, cache.Bytes));
    }

    [Fact]
    public async Task Keys_are_per_caller_key_by_default()
    {
        var upstream = new CountingUpstream();
        var handler = new CacheHandler(upstream, new ResponseCache(1 << 20, new FakeTimeProvider()), pricer: null);
        var ana = new Caller("key-ana", "team-1", IsMaster: false);
        var bo = new Caller("key-bo", "team-1", IsMaster: false);

        Assert.Equal(CacheStatus.Miss, (await AskAsync(handler, "q", ana)).Status);
        Assert.Equal(CacheStatus.Hit, (await AskAsync(handler, "q", ana)).Status);
        Assert.Equal(CacheStatus.Miss, (await AskAsync(handler, "q", bo)).Status);
    }

    private static UInt128 Key(string json, string alias = "chat", string scope = "key:a") => CacheKey.Compute(Encoding.UTF8.GetBytes(json), alias, scope);

    [Fact]
    public void The_key_ignores_whitespace_field_order_spelling_of_numbers_and_escapes_user_metadata_and_stream_flags()
    {
        var baseline = Key("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20}""");
        Assert.Equal(baseline, Key("""
            { "max_tokens" : 2e1, "messages": [ {"role":"user", "content":"h\u00e9llo"} ],
              "temperature": 0.0, "model": "CHAT-as-spelt", "user": "ana", "metadata": {"a": "b"},
              "stream": true, "stream_options": {"include_usage": true}, "store": false }
            """));
    }

    [Theory]
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"hello"}],"max_tokens":20}""")] // content
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"system","content":"héllo"}],"max_tokens":20}""")] // role
    [InlineData("""{"model":"chat","temperature":0.5,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20}""")] // sampling
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":21}""")]
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20,"seed":1}""")]
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20,"stop":["x"]}""")]
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20,"tools":[{"type":"function","function":{"name":"f"}}]}""")]
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20,"tool_choice":"none"}""")]
    [InlineData("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20,"response_format":{"type":"json_object"}}""")]
    public void The_key_changes_with_anything_that_changes_the_answer(string other)
    {
        var baseline = Key("""{"model":"chat","temperature":0,"messages":[{"role":"user","content":"héllo"}],"max_tokens":20}""");
        Assert.NotEqual(baseline, Key(other));
    }

    [Fact]
    public void The_key_changes_with_the_alias_and_the_scope()
    {
        const string body = """{"model":"chat","temperature":0,"messages":[{"role":"user","content":"hi"}]}""";
        Assert.Equal(3, new[] { Key(body), Key(body, alias: "other"), Key(body, scope: "key:b") }.Distinct().Count());
    }

    [Fact]
    public void A_stored_stream_assembles_into_one_completion_with_its_tool_calls()
    {
        StoredChunk C(string json) => new(Encoding.UTF8.GetBytes(json), -1, false);
        var chunks = new[]
        {
            C("""{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"""),
            C("""{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}"""),
            C("""{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":null}]}"""),
            C("""{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}"""),
        };
        var entry = CacheEntry.FromChunks(1, "r", chunks, 100, new TokenUsage(4, 5), Cost.Unpriced, 0, TimeSpan.FromMinutes(1));

        var root = System.Text.Json.JsonDocument.Parse(entry.Complete().Body).RootElement;
        var choice = root.GetProperty("choices")[0];
        Assert.Equal(("c1", 7L, "Hello", "tool_calls"), (root.GetProperty("id").GetString(), root.GetProperty("created").GetInt64(),
            choice.GetProperty("message").GetProperty("content").GetString(), choice.GetProperty("finish_reason").GetString()));
        var call = choice.GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal(("call_1", "f", """{"a":1}"""), (call.GetProperty("id").GetString(), call.GetProperty("function").GetProperty("name").GetString(),
            call.GetProperty("function").GetProperty("arguments").GetString()));
        Assert.Equal(9, root.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }
}
