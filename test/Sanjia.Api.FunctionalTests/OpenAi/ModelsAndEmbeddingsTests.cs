using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using OpenAI.Embeddings;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

public sealed class ModelsAndEmbeddingsTests : GatewayWithUpstream
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings(FakeOpenAiServer upstream) =>
    [
        .. GatewayServer.Upstream(upstream),
        new("Models:chat-default:Deployments:0:Provider", "fake"),
        new("Models:chat-default:Deployments:0:Model", "gpt-4o"),
        new("Models:embed:Deployments:0:Provider", "fake"),
        new("Models:embed:Deployments:0:Model", "text-embedding-3-small"),
    ];

    [Fact]
    public async Task Models_lists_aliases_and_provider_models()
    {
        var text = await Gateway.Http.GetStringAsync("/v1/models");
        OpenApiSpec.AssertValid("ListModelsResponse", text);
        var ids = JsonDocument.Parse(text).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
        Assert.Equal(["chat-default", "embed", "fake/gpt-4o-mini", "fake/text-embedding-3-small"], ids);

        var sdkModels = await Gateway.OpenAi().GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal(ids, sdkModels.Value.Select(m => m.Id).ToList());
    }

    [Fact]
    public async Task A_model_can_be_read_by_id_even_with_a_slash()
    {
        var text = await Gateway.Http.GetStringAsync("/v1/models/fake/gpt-4o-mini");
        OpenApiSpec.AssertValid("Model", text);
        Assert.Equal("fake/gpt-4o-mini", JsonDocument.Parse(text).RootElement.GetProperty("id").GetString());
        using var missing = await Gateway.Http.GetAsync("/v1/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task The_sdk_gets_embeddings_through_an_alias()
    {
        var client = Gateway.OpenAi().GetEmbeddingClient("embed");
        OpenAIEmbedding embedding = await client.GenerateEmbeddingAsync("hello world");
        Assert.Equal(8, embedding.ToFloats().Length);

        OpenAIEmbeddingCollection many = await client.GenerateEmbeddingsAsync(["a", "b", "c"]);
        Assert.Equal([0, 1, 2], many.Select(e => e.Index));
        Assert.Equal("text-embedding-3-small", JsonDocument.Parse(Upstream.Requests[^1].Body).RootElement.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("\"float\"")]
    [InlineData("\"base64\"")]
    public async Task Embeddings_pass_through_in_either_encoding(string format)
    {
        using var response = await Gateway.Http.PostAsync("/v1/embeddings",
            new StringContent($$"""{"model":"fake/text-embedding-3-small","input":["x","y"],"encoding_format":{{format}}}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        OpenApiSpec.AssertValid("CreateEmbeddingResponse", text);
        Assert.Equal(2, JsonDocument.Parse(text).RootElement.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"model":"embed"}""", "input")]
    [InlineData("""{"model":"embed","input":[]}""", "input")]
    [InlineData("""{"model":"embed","input":"x","encoding_format":"hex"}""", "encoding_format")]
    [InlineData("""{"input":"x"}""", "model")]
    public async Task Bad_embedding_requests_get_400_naming_the_field(string body, string param)
    {
        using var response = await Gateway.Http.PostAsync("/v1/embeddings", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        OpenApiSpec.AssertValid("ErrorResponse", text);
        Assert.Equal(param, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_chat_model_is_refused_for_embeddings_and_vice_versa()
    {
        using var e = await Gateway.Http.PostAsJsonAsync("/v1/embeddings", new { model = "missing", input = "x" });
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        using var c = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "embed", messages = new[] { new { role = "user", content = "x" } } });
        Assert.Equal(HttpStatusCode.BadRequest, c.StatusCode);
    }

    /// <summary>Base64 embeddings decode to the same floats the float format gives.</summary>
    [Fact]
    public async Task Base64_and_float_encodings_agree()
    {
        async Task<JsonElement> Get(string format)
        {
            using var r = await Gateway.Http.PostAsJsonAsync("/v1/embeddings", new { model = "embed", input = "same text", encoding_format = format });
            return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("embedding").Clone();
        }
        var floats = (await Get("float")).EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var decoded = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String((await Get("base64")).GetString()!)).ToArray();
        Assert.Equal(floats, decoded);
    }

    [Theory]
    [InlineData("/v1/embeddings", """{"model":"fake/gpt-4o-mini","input":"hi"}""", "You are not allowed to generate embeddings from this model")]
    [InlineData("/v1/images/generations", """{"model":"fake/gpt-4o-mini","prompt":"a red bicycle"}""", "Name an image model")]
    [InlineData("/v1/images/generations", """{"model":"embed","prompt":"a red bicycle"}""", "an embedding model")]
    public async Task A_model_known_to_be_of_another_kind_is_a_400_before_any_call(string path, string body, string mentions)
    {
        // A listed chat model was sent to the vendor's embeddings or images API, and its 404 "Not Found" came back.
        using var response = await Gateway.Http.PostAsync(path.TrimStart('/'), new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains($"does not support {path}", message, StringComparison.Ordinal);
        Assert.Contains(mentions, message, StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Fact]
    public async Task A_vendors_404_for_a_model_of_unknown_kind_names_the_model_and_endpoint()
    {
        // 'chat-default' is gpt-4o, which the provider does not list: its kind is not known, so the call goes out.
        Upstream.Enqueue(FakeBehavior.Status(404, "Not Found"));
        using var response = await Gateway.Http.PostAsync("v1/embeddings", new StringContent("""{"model":"chat-default","input":"hi"}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal("model", error.GetProperty("param").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("'chat-default'", message, StringComparison.Ordinal);
        Assert.Contains("/v1/embeddings", message, StringComparison.Ordinal);
        Assert.Single(Upstream.Requests);
    }
}
