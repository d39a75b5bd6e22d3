using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using OpenAI.Embeddings;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

#pragma warning disable OPENAI001 // The SDK marks Seed experimental; the local model honours it and the tests rely on it.

/// <summary>The in-process llama.cpp path and local embeddings, end to end over HTTP with the real tiny model.</summary>
public sealed class LocalModelTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync([
        new("ModelFiles:0", TestModel.Path),
        new("Local:Embeddings", "true"),
        new("Local:MaxConcurrency", "1"),
        new("Local:MaxQueue", "1"),
        // Above the model's own 2048, so the context served is the model's (as it was with the default 2048).
        new("Local:ContextSize", "4096"),
    ]);

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private static string Body(int maxTokens, bool stream, string extra = "") =>
        $$"""{"model":"local/stories260K","stream":{{(stream ? "true" : "false")}},"max_tokens":{{maxTokens}},"seed":3,"temperature":0.8,"messages":[{"role":"user","content":"Once upon a time"}]{{extra}}}""";

    [Fact]
    public async Task Models_list_gives_the_local_models_context_length()
    {
        // stories260K was trained with a 2048-token context, under Local:ContextSize (4096 here): 2048 is what a prompt
        // must fit, known from the GGUF header before any request loads the model, and the same once it is loaded.
        var list = await _gateway.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        var local = list.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "local/stories260K");
        Assert.Equal(2048, local.GetProperty("context_length").GetInt32());

        using var one = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent(Body(2, stream: false), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        var model = await _gateway.Http.GetFromJsonAsync<JsonElement>("/v1/models/local/stories260K");
        Assert.Equal(2048, model.GetProperty("context_length").GetInt32());
    }

    [Fact]
    public async Task Streams_generated_text_as_valid_openai_chunks()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(Body(24, stream: true, ",\"stream_options\":{\"include_usage\":true}"), Encoding.UTF8, "application/json"),
        };
        using var response = await _gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await Sse.ReadDataAsync(response);

        Assert.Equal("[DONE]", events[^1]);
        foreach (var e in events[..^1]) OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", e);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.False(string.IsNullOrWhiteSpace(text));
        Assert.True(chunks.Count(c => c.GetProperty("choices").GetArrayLength() > 0) > 3, "token-by-token, not one lump");
        var usage = chunks[^1].GetProperty("usage");
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 1, 24);
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0);

        var entry = Assert.Single(await _gateway.LedgerAsync());
        Assert.False(entry.Usage.Estimated);
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt32(), entry.Usage.Output);
        Assert.Equal("local/stories260K", entry.Deployment);
    }

    [Fact]
    public async Task Honours_max_tokens_and_stop_through_the_sdk()
    {
        var chat = _gateway.OpenAi().GetChatClient("local/stories260K");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Seed = 3, Temperature = 0 };
        ChatCompletion full = await chat.CompleteChatAsync([new UserChatMessage("Once upon a time")], options);
        Assert.Equal(ChatFinishReason.Length, full.FinishReason);
        Assert.Equal(12, full.Usage.OutputTokenCount);

        var text = full.Content[0].Text;
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length >= 3, $"need a few words to pick a stop sequence from: '{text}'");
        var stop = words[2];
        var stopOptions = new ChatCompletionOptions { MaxOutputTokenCount = 12, Seed = 3, Temperature = 0, StopSequences = { stop } };
        ChatCompletion stopped = await chat.CompleteChatAsync([new UserChatMessage("Once upon a time")], stopOptions);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Content[0].Text);
    }

    [Fact]
    public async Task Fields_the_local_model_cannot_honour_get_400_naming_them()
    {
        using var response = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent(
            Body(5, false, ",\"response_format\":{\"type\":\"json_object\"}"), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("response_format", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_full_queue_gets_429_with_retry_after_and_slots_are_released()
    {
        // One generation at a time and one waiting. The tiny model is fast and a busy machine spreads a burst out,
        // so a burst may not overlap on a given try: retry it (bounded) and require a turned-away request in one.
        HttpResponseMessage? limited = null;
        for (var attempt = 0; attempt < 20 && limited is null; attempt++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => _gateway.Http.PostAsync("/v1/chat/completions",
                new StringContent(Body(200, stream: false), Encoding.UTF8, "application/json"))));
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
            limited = responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        }
        Assert.NotNull(limited);
        Assert.True(limited.Headers.Contains("Retry-After"));
        var text = await limited.Content.ReadAsStringAsync();
        OpenApiSpec.AssertValid("ErrorResponse", text);
        Assert.Equal("model_overloaded", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());

        // Every slot was released: the model still serves.
        using var after = await _gateway.Http.PostAsync("/v1/chat/completions", new StringContent(Body(4, false), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Local_embeddings_return_384_dimensions_through_the_sdk()
    {
        var client = _gateway.OpenAi().GetEmbeddingClient("local/all-minilm-l6-v2");
        OpenAIEmbeddingCollection result = await client.GenerateEmbeddingsAsync(["The cat sat on the mat.", "A cat was sitting on a mat.", "Quarterly revenue grew by 4%."]);
        var v = result.Select(e => e.ToFloats().ToArray()).ToList();
        Assert.All(v, x => Assert.Equal(384, x.Length));
        static double Cos(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum() / Math.Sqrt(a.Sum(x => (double)x * x) * b.Sum(x => (double)x * x));
        Assert.True(Cos(v[0], v[1]) > Cos(v[0], v[2]));

        using var raw = await _gateway.Http.PostAsJsonAsync("/v1/embeddings", new { model = "local/all-minilm-l6-v2", input = "hello" });
        var text = await raw.Content.ReadAsStringAsync();
        OpenApiSpec.AssertValid("CreateEmbeddingResponse", text);
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Lists_the_local_models()
    {
        var ids = (await _gateway.OpenAi().GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();
        Assert.Contains("local/stories260K", ids);
        Assert.Contains("local/all-minilm-l6-v2", ids);
    }
}
