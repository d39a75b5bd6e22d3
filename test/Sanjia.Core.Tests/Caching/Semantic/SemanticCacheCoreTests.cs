using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Sanjia.Abstractions;
using Sanjia.Core.Caching;
using Sanjia.Core.Caching.Semantic;
using Sanjia.Core.Json;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Tests.Caching.Semantic;

/// <summary>
/// The semantic cache in the cache stage over a counting upstream and an embedder with known vectors: a similar last
/// user turn in the same context is answered from the stored answer (marked with its similarity), anything else in the
/// request that differs, a turn below the threshold, or a failed embedding is a miss.
/// </summary>
public sealed class SemanticCacheCoreTests
{
    /// <summary>Vectors by text, so that similarities are known: unknown texts fail to embed.</summary>
    private sealed class TableEmbedder(Dictionary<string, float[]> table) : ISemanticEmbedder
    {
        public List<(string Model, string Alias, string Text)> Calls { get; } = [];

        public ValueTask<float[]?> EmbedAsync(string model, string alias, string text, string requestId, CancellationToken cancellationToken)
        {
            Calls.Add((model, alias, text));
            return new(table.GetValueOrDefault(text));
        }
    }

    /// <summary>A unit vector at <paramref name="degrees"/> from the x axis in the x-y plane: cos(difference) is the similarity.</summary>
    private static float[] At(double degrees)
    {
        var v = new float[8];
        v[0] = (float)Math.Cos(degrees * Math.PI / 180);
        v[1] = (float)Math.Sin(degrees * Math.PI / 180);
        return v;
    }

    private static readonly Dictionary<string, float[]> Vectors = new()
    {
        ["What is the capital of France?"] = At(0),
        ["Which city is the capital of France?"] = At(20), // cos 20° = 0.940
        ["What is the capital of Spain?"] = At(40), // cos 40° = 0.766 from the first
        ["What is the minimum age to open an account?"] = At(-60),
        ["What is the maximum age to open an account?"] = At(-61), // 0.9998, but the opposite question
    };

    private static readonly ResolvedModel Model = new("chat", ModelKind.Chat, [], IsAlias: true)
    {
        Cache = new CachePolicy(CacheScope.Key, TimeSpan.FromSeconds(60), false) { Semantic = new SemanticPolicy("emb", 0.9f) },
    };

    private sealed class Harness
    {
        public FakeTimeProvider Time { get; } = new();
        public ResponseCacheCoreTests.CountingUpstream Upstream { get; } = new();
        public TableEmbedder Embedder { get; } = new(Vectors);
        public ResponseCache Cache { get; }
        public CacheHandler Handler { get; }

        public Harness()
        {
            Cache = new ResponseCache(1 << 20, Time);
            Handler = new CacheHandler(Upstream, Cache, pricer: null, new SemanticCache(new SemanticIndex(1000, Cache.Contains), Embedder));
        }

        public async Task<(CacheStatus Status, string Content, float? Similarity)> AskAsync(string prompt, string system = "Be brief.", double temperature = 0, Caller? caller = null)
        {
            var body = JsonSerializer.Serialize(new
            {
                model = "chat",
                temperature,
                messages = new object[] { new { role = "system", content = system }, new { role = "user", content = prompt } },
            });
            var context = new ChatContext("req", "/v1/chat/completions", ChatRequestParser.Parse(Encoding.UTF8.GetBytes(body)).Request!, Model, caller ?? Caller.Master, 0);
            var outcome = await Handler.HandleAsync(context, CancellationToken.None);
            var complete = Assert.IsType<CompleteChatResponse>(outcome.Response);
            var content = JsonDocument.Parse(complete.Body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            return (context.CacheStatus, content, context.CacheHit?.Similarity);
        }
    }

    [Fact]
    public async Task A_paraphrase_in_the_same_context_is_answered_with_the_stored_answer_and_its_similarity()
    {
        var h = new Harness();

        var first = await h.AskAsync("What is the capital of France?");
        var paraphrase = await h.AskAsync("Which city is the capital of France?");

        Assert.Equal((CacheStatus.Miss, "answer 1"), (first.Status, first.Content));
        Assert.Equal((CacheStatus.Hit, "answer 1"), (paraphrase.Status, paraphrase.Content));
        Assert.InRange(paraphrase.Similarity!.Value, 0.93f, 0.95f); // cos 20°, through int8 codes
        Assert.Equal(1, h.Upstream.Calls);
        Assert.Equal([("emb", "chat", "What is the capital of France?"), ("emb", "chat", "Which city is the capital of France?")], h.Embedder.Calls);
    }

    [Fact]
    public async Task An_exact_repeat_is_answered_by_the_exact_cache_without_embedding()
    {
        var h = new Harness();

        await h.AskAsync("What is the capital of France?");
        var again = await h.AskAsync("What is the capital of France?");

        Assert.Equal((CacheStatus.Hit, "answer 1", (float?)null), again);
        Assert.Single(h.Embedder.Calls);
    }

    [Fact]
    public async Task A_turn_below_the_threshold_another_system_prompt_another_temperature_or_another_key_is_a_miss()
    {
        var h = new Harness();
        var other = new Caller("k2", null, IsMaster: false);

        await h.AskAsync("What is the capital of France?");
        var farther = await h.AskAsync("What is the capital of Spain?");
        var system = await h.AskAsync("Which city is the capital of France?", system: "Answer in French.");
        var key = await h.AskAsync("Which city is the capital of France?", caller: other);

        Assert.Equal([CacheStatus.Miss, CacheStatus.Miss, CacheStatus.Miss], new[] { farther.Status, system.Status, key.Status });
        Assert.Equal(4, h.Upstream.Calls);
    }

    [Fact]
    public async Task The_opposite_question_in_nearly_the_same_words_is_not_answered_whatever_the_cosine()
    {
        var h = new Harness();

        await h.AskAsync("What is the minimum age to open an account?");
        var opposite = await h.AskAsync("What is the maximum age to open an account?");

        Assert.Equal((CacheStatus.Miss, "answer 2"), (opposite.Status, opposite.Content));
    }

    [Fact]
    public async Task A_failed_embedding_is_a_plain_miss_and_an_expired_answer_is_not_served_to_a_paraphrase()
    {
        var h = new Harness();

        var unknown = await h.AskAsync("Something the embedder cannot embed");
        await h.AskAsync("What is the capital of France?");
        h.Time.Advance(TimeSpan.FromSeconds(61));
        var late = await h.AskAsync("Which city is the capital of France?");

        Assert.Equal(CacheStatus.Miss, unknown.Status);
        Assert.Equal((CacheStatus.Miss, "answer 3"), (late.Status, late.Content));
    }
}
