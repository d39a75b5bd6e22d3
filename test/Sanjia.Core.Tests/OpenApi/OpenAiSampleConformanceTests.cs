using Sanjia.Testing.OpenApi;

namespace Sanjia.Core.Tests.OpenApi;

/// <summary>
/// Hand-written bodies of the shapes the gateway serves (models, embeddings, errors): the valid ones pass, and each
/// kind of mistake fails at the JSON path where it is.
/// </summary>
public sealed class OpenAiSampleConformanceTests
{
    private const string Model = """{"id":"local/qwen","object":"model","created":1700000000,"owned_by":"sanjia"}""";

    [Fact]
    public void A_model_is_valid()
    {
        OpenApiSpec.AssertValid("Model", Model);
    }

    [Fact]
    public void A_model_list_is_valid_even_when_empty()
    {
        OpenApiSpec.AssertValid("ListModelsResponse", $$"""{"object":"list","data":[{{Model}},{"id":"gpt-4o","object":"model","created":0,"owned_by":"openai"}]}""");
        OpenApiSpec.AssertValid("ListModelsResponse", """{"object":"list","data":[]}""");
    }

    [Theory]
    [InlineData("""{"id":"m","object":"model","created":1}""", "(root):", "owned_by")]
    [InlineData("""{"id":"m","object":"models","created":1,"owned_by":"x"}""", "/object:", "")]
    [InlineData("""{"id":"m","object":"model","created":"2024-01-01","owned_by":"x"}""", "/created:", "")]
    public void An_invalid_model_fails_at_the_path(string json, string pathPrefix, string mentioned)
    {
        var errors = OpenApiSpec.Validate("Model", json);

        Assert.Contains(errors, e => e.StartsWith(pathPrefix, StringComparison.Ordinal) && e.Contains(mentioned, StringComparison.Ordinal));
    }

    [Fact]
    public void A_model_list_with_a_bad_model_fails_at_its_index()
    {
        var errors = OpenApiSpec.Validate("ListModelsResponse", $$"""{"object":"list","data":[{{Model}},{"id":7,"object":"model","created":1,"owned_by":"x"}]}""");

        Assert.Contains(errors, e => e.StartsWith("/data/1/id:", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.StartsWith("/data/0", StringComparison.Ordinal));
    }

    [Fact]
    public void An_embedding_list_with_float_vectors_is_valid()
    {
        OpenApiSpec.AssertValid("CreateEmbeddingResponse", """
            {"object":"list","model":"text-embedding-3-small",
             "data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,1e-7,0]},
                     {"object":"embedding","index":1,"embedding":[0.5,-1]}],
             "usage":{"prompt_tokens":8,"total_tokens":8}}
            """);
    }

    [Fact]
    public void An_embedding_list_with_base64_vectors_is_valid()
    {
        var vector = Convert.ToBase64String(new[] { 0.25f, -1.5f, 3f }.SelectMany(BitConverter.GetBytes).ToArray());

        OpenApiSpec.AssertValid("CreateEmbeddingResponse", $$$"""
            {"object":"list","model":"text-embedding-3-small",
             "data":[{"object":"embedding","index":0,"embedding":"{{{vector}}}"}],
             "usage":{"prompt_tokens":2,"total_tokens":2}}
            """);
        Assert.Contains(OpenApiSpec.Errata, e => e.Contains("base64", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"object":"embedding","index":0,"embedding":["0.1"]}""", "/data/0/embedding")]
    [InlineData("""{"object":"embedding","index":0,"embedding":"not base64!"}""", "/data/0/embedding")]
    [InlineData("""{"object":"embedding","index":0,"embedding":{"values":[0.1]}}""", "/data/0/embedding")]
    [InlineData("""{"object":"embedding","embedding":[0.1]}""", "/data/0:")]
    [InlineData("""{"object":"vector","index":0,"embedding":[0.1]}""", "/data/0/object:")]
    public void An_invalid_embedding_fails_at_the_path(string item, string pathPrefix)
    {
        var errors = OpenApiSpec.Validate("CreateEmbeddingResponse", $$$"""
            {"object":"list","model":"m","data":[{{{item}}}],"usage":{"prompt_tokens":1,"total_tokens":1}}
            """);

        Assert.Contains(errors, e => e.StartsWith(pathPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public void An_embedding_list_without_usage_totals_fails()
    {
        var errors = OpenApiSpec.Validate("CreateEmbeddingResponse", """{"object":"list","model":"m","data":[],"usage":{"prompt_tokens":1}}""");

        Assert.Contains(errors, e => e.StartsWith("/usage:", StringComparison.Ordinal) && e.Contains("total_tokens", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"error":{"message":"Unknown model 'x'.","type":"invalid_request_error","param":"model","code":"model_not_found"}}""")]
    [InlineData("""{"error":{"message":"Upstream timed out.","type":"server_error","param":null,"code":null}}""")]
    public void An_error_body_is_valid(string json)
    {
        OpenApiSpec.AssertValid("ErrorResponse", json);
    }

    [Theory]
    [InlineData("""{"error":{"message":"m","type":"server_error","code":null}}""", "/error:", "param")]
    [InlineData("""{"error":{"message":"m","type":"server_error","param":null,"code":500}}""", "/error/code:", "")]
    [InlineData("""{"message":"m"}""", "(root):", "error")]
    public void An_invalid_error_body_fails_at_the_path(string json, string pathPrefix, string mentioned)
    {
        var errors = OpenApiSpec.Validate("ErrorResponse", json);

        Assert.Contains(errors, e => e.StartsWith(pathPrefix, StringComparison.Ordinal) && e.Contains(mentioned, StringComparison.Ordinal));
    }
}
