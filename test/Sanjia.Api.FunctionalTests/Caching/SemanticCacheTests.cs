using System.Net;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.Caching;

/// <summary>
/// The semantic cache as a user meets it (docs/caching.md): an alias that turns it on answers a paraphrase of a stored
/// question from the cache, with the built-in MiniLM or an embedding deployment of a vendor; the hit is metered as an
/// exact hit, and each lookup's embedding is a ledger row of the gateway's own key for the alias.
/// </summary>
public sealed class SemanticCacheTests : IAsyncLifetime
{
    private FakeOpenAiServer _upstream = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _upstream.SetDefault(FakeBehavior.Reply("Paris.", promptTokens: 20, completionTokens: 6));
    }

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    private static string Body(object content, bool stream = false, string system = "Answer in one word.") => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["model"] = "chat",
        ["temperature"] = 0,
        ["stream"] = stream,
        ["messages"] = new object[] { new { role = "system", content = system }, new { role = "user", content } },
    });

    private static async Task<(HttpResponseMessage Response, string Text)> PostAsync(GatewayServer gw, string body)
    {
        var response = await gw.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        return (response, await response.Content.ReadAsStringAsync());
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) ? v.Single() : "(none)";

    private int ChatCalls => _upstream.Requests.Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));

    [Fact]
    public async Task A_paraphrase_is_answered_from_the_cache_with_minilm_and_metered_as_a_hit_and_the_lookups_as_the_aliass_own_rows()
    {
        await using var gw = await GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(_upstream),
            "--Sanjia:Local:Embeddings=true", "--Sanjia:Models:chat:Cache:Semantic:Enabled=true"]);

        var (first, firstText) = await PostAsync(gw, Body("What is the capital of France?"));
        var (paraphrase, paraphraseText) = await PostAsync(gw, Body("Which city is the capital of France?"));
        var (other, _) = await PostAsync(gw, Body("What is the capital of Germany?"));
        var (system, _) = await PostAsync(gw, Body("Which city is the capital of France?", system: "Answer in French."));
        var (streamed, streamedText) = await PostAsync(gw, Body("Which city is France's capital?", stream: true));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(("miss", "hit", "miss", "miss", "hit"), (Header(first, "x-sanjia-cache"), Header(paraphrase, "x-sanjia-cache"),
            Header(other, "x-sanjia-cache"), Header(system, "x-sanjia-cache"), Header(streamed, "x-sanjia-cache")));
        Assert.InRange(double.Parse(Header(paraphrase, "x-sanjia-cache-similarity"), System.Globalization.CultureInfo.InvariantCulture), 0.9, 1.0);
        Assert.Equal("(none)", Header(first, "x-sanjia-cache-similarity"));
        Assert.Equal(3, ChatCalls); // the first question, Germany, and the other system prompt
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", paraphraseText);
        Assert.Equal(Content(firstText), Content(paraphraseText));
        Assert.Contains("Paris.", streamedText, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", streamedText, StringComparison.Ordinal);

        var rows = await gw.LedgerAsync(10);
        var chats = rows.Where(r => r.Endpoint == "/v1/chat/completions").ToList();
        var original = Assert.Single(chats, r => r.RequestId == Header(first, "x-request-id"));
        var hit = Assert.Single(chats, r => r.RequestId == Header(paraphrase, "x-request-id"));
        Assert.Equal((original.RequestId, 0m, original.Cost, "USD"), (hit.CacheOf, hit.Cost, hit.CostSaved, hit.Currency));
        Assert.Null(hit.Deployment);
        // One embedding per lookup (an exact hit needs none), under the alias's own key, not the caller's.
        var embeddings = rows.Where(r => r.Endpoint == "/v1/embeddings").ToList();
        Assert.Equal(5, embeddings.Count);
        Assert.All(embeddings, r => Assert.Equal(("semantic-cache:chat", "local/all-minilm-l6-v2", 200), (r.KeyId, r.Model, r.Status)));
    }

    private static string Content(string completion) =>
        JsonDocument.Parse(completion).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    [Fact]
    public async Task A_vendors_embedding_deployment_is_used_when_configured_compares_chinese_text_too_and_serves_a_streamed_answer()
    {
        // The fake vendor's vectors depend only on the text: the same question, once as a string and once as a text
        // part (two exact keys), has similarity 1.
        await using var gw = await GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(_upstream),
            "--Sanjia:Providers:fake:EmbeddingModels:0=multilingual-embed",
            "--Sanjia:Models:chat:Cache:Semantic:Enabled=true", "--Sanjia:Models:chat:Cache:Semantic:EmbeddingModel=fake/multilingual-embed"]);

        var (first, _) = await PostAsync(gw, Body("法国的首都是哪里？", stream: true));
        var (parts, partsText) = await PostAsync(gw, Body(new object[] { new { type = "text", text = "法国的首都是哪里？" } }));

        Assert.Equal(("miss", "hit"), (Header(first, "x-sanjia-cache"), Header(parts, "x-sanjia-cache")));
        // Stored from the stream, served to a complete request assembled, as an exact hit would be.
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", partsText);
        Assert.Equal("Paris.", Content(partsText));
        Assert.Equal(1, ChatCalls);
        Assert.InRange(double.Parse(Header(parts, "x-sanjia-cache-similarity"), System.Globalization.CultureInfo.InvariantCulture), 0.99, 1.0); // the same vector, through int8 codes
        var embeds = _upstream.Requests.Where(r => r.Path.EndsWith("/embeddings", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, embeds.Count);
        Assert.All(embeds, r =>
        {
            var e = JsonDocument.Parse(r.Body).RootElement;
            Assert.Equal(("multilingual-embed", "法国的首都是哪里？"), (e.GetProperty("model").GetString(), e.GetProperty("input").GetString()));
        });
    }

    [Fact]
    public async Task An_alias_whose_embedding_model_does_not_exist_stops_start_up_naming_the_setting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayServer.StartWithArgsAsync([.. MeteringSetup.Settings(_upstream),
            "--Sanjia:Models:chat:Cache:Semantic:Enabled=true"])); // the built-in MiniLM is off (Sanjia:Local:Embeddings=false)

        Assert.Contains("Sanjia:Models:chat:Cache:Semantic:EmbeddingModel", error.Message, StringComparison.Ordinal);
    }
}
