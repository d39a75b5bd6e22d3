using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// <c>/v1/models</c> shows a key only the models it may use, with OpenRouter's extra fields (context length, per-token
/// prices as strings, currency), and stays valid for OpenAI clients.
/// </summary>
public sealed class ModelsListTests
{
    [Fact]
    public async Task A_key_sees_only_its_allowed_models_with_context_length_and_per_token_prices()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync([
            .. MeteringSetup.Settings(upstream),
            .. GatewayServer.Deployment("other", 0, "fake", "gpt-other"),
            "--Sanjia:Metering:Prices:fake/gpt-test:ContextWindow=32768",
        ]);
        var (_, secret) = await gw.CreateKeyAsync(new { name = "narrow", allowed_models = new[] { "chat" } });

        async Task<JsonElement> GetAsync(string path, string key)
        {
            using var response = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, path, key));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
            OpenApiSpec.AssertValid(path == "/v1/models" ? "ListModelsResponse" : "Model", text);
            return JsonDocument.Parse(text).RootElement.Clone();
        }

        var all = (await GetAsync("/v1/models", GatewayServer.MasterKey)).GetProperty("data").EnumerateArray().ToList();
        Assert.Subset(all.Select(m => m.GetProperty("id").GetString()).ToHashSet(), new HashSet<string?> { "chat", "other" });
        var chat = Assert.Single((await GetAsync("/v1/models", secret)).GetProperty("data").EnumerateArray());
        Assert.Equal("chat", chat.GetProperty("id").GetString());

        // 1000 and 2000 USD per million tokens (MeteringSetup) are 0.001 and 0.002 per token.
        Assert.Equal(32768, chat.GetProperty("context_length").GetInt32());
        var pricing = chat.GetProperty("pricing");
        Assert.Equal(("0.001", "0.002", "USD"),
            (pricing.GetProperty("prompt").GetString(), pricing.GetProperty("completion").GetString(), pricing.GetProperty("currency").GetString()));
        Assert.Equal(chat.GetRawText(), (await GetAsync("/v1/models/chat", secret)).GetRawText());

        // Unpriced: pricing null, never a price of zero; no context length known.
        var other = all.Single(m => m.GetProperty("id").GetString() == "other");
        Assert.Equal(JsonValueKind.Null, other.GetProperty("pricing").ValueKind);
        Assert.False(other.TryGetProperty("context_length", out _));

        using var hidden = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, "/v1/models/other", secret));
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
    }
}
