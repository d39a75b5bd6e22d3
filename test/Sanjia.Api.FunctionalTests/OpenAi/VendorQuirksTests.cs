using System.Net;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>
/// The vendors' documented limits (catalogue.json, <c>quirks</c>) as a caller meets them: providers named like presets
/// take the preset's quirks, a value the vendor cannot honour gets a 400 naming the field before anything is sent,
/// and a value it accepts goes through unchanged.
/// </summary>
public sealed class VendorQuirksTests : GatewayWithUpstream
{
    private static readonly string[] Presets = ["groq", "moonshot", "minimax", "mistral", "hunyuan"];

    protected override IEnumerable<KeyValuePair<string, string>> Settings(FakeOpenAiServer upstream) =>
    [
        .. Presets.SelectMany(p => new KeyValuePair<string, string>[]
        {
            new($"Providers:{p}:BaseUrl", upstream.BaseUrl),
            new($"Providers:{p}:ApiKey", upstream.ApiKey),
        }),
        new("Routing:Retry:MaxAttempts", "1"),
    ];

    private async Task<(HttpStatusCode Status, string Body)> Post(string model, string extra)
    {
        var body = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]{{extra}}}""";
        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    // Groq: (0, 2], n must be 1 (console.groq.com/docs/openai). Above 2 is OpenAI's own limit, refused by the parser.
    [InlineData("groq/openai/gpt-oss-20b", ",\"n\":2", "n")]
    [InlineData("groq/openai/gpt-oss-20b", ",\"temperature\":0", "temperature")]
    // Kimi: [0, 1] for every model.
    [InlineData("moonshot/moonshot-v1-128k", ",\"temperature\":1.2", "temperature")]
    // Kimi K2.5 and K2.6 fix temperature (1.0 thinking, 0.6 non-thinking) and n (1).
    [InlineData("moonshot/kimi-k2.5", ",\"temperature\":0.3", "temperature")]
    [InlineData("moonshot/kimi-k2.6", ",\"temperature\":0.3", "temperature")]
    [InlineData("moonshot/kimi-k2.5", ",\"n\":2", "n")]
    // MiniMax: (0, 1], n must be 1.
    [InlineData("minimax/MiniMax-M2.7", ",\"temperature\":0", "temperature")]
    [InlineData("minimax/MiniMax-M2.7", ",\"n\":3", "n")]
    public async Task Values_the_vendor_documents_as_unsupported_get_400_naming_the_field(string model, string extra, string param)
    {
        var (status, body) = await Post(model, extra);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        OpenApiSpec.AssertValid("ErrorResponse", body);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(model[..model.IndexOf('/')], error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(Upstream.Requests);
    }

    [Theory]
    [InlineData("groq/openai/gpt-oss-20b", ",\"temperature\":2")]
    [InlineData("moonshot/moonshot-v1-128k", ",\"temperature\":0.3,\"n\":2")]
    [InlineData("moonshot/kimi-k2.5", ",\"temperature\":0.6")]
    [InlineData("moonshot/kimi-k2.6", ",\"temperature\":1")]
    [InlineData("moonshot/kimi-k2.6", ",\"temperature\":1.0,\"n\":1")]
    [InlineData("minimax/MiniMax-M2.7", ",\"temperature\":1")]
    [InlineData("mistral/mistral-small-latest", ",\"temperature\":1.5,\"n\":2")]
    [InlineData("hunyuan/hy4", ",\"temperature\":0")]
    public async Task Values_within_the_documented_limits_reach_the_vendor_unchanged(string model, string extra)
    {
        var (status, body) = await Post(model, extra);
        Assert.True(status == HttpStatusCode.OK, body);
        var sent = Assert.Single(Upstream.Requests);
        Assert.Contains(extra[1..], sent.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_usage_is_asked_for_except_where_the_vendor_rejects_stream_options()
    {
        foreach (var model in new[] { "groq/openai/gpt-oss-20b", "mistral/mistral-small-latest" })
        {
            var (status, _) = await Post(model, ",\"stream\":true");
            Assert.Equal(HttpStatusCode.OK, status);
        }
        Assert.Equal(2, Upstream.Requests.Count);
        Assert.Contains("\"include_usage\":true", Upstream.Requests[0].BodyText, StringComparison.Ordinal);
        Assert.DoesNotContain("stream_options", Upstream.Requests[1].BodyText, StringComparison.Ordinal); // Mistral: 422 on unknown fields
    }
}
