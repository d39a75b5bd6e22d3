using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeGemini;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Hardening;

/// <summary>
/// One gateway in front of every kind of backend (OpenAI-compatible <c>fa</c>, Anthropic <c>claude</c>, Gemini
/// <c>gem</c>, the local model, and the alias <c>chat</c> over the first two), shared by the hostile-input tests and
/// the fuzz suite.
/// </summary>
public sealed class AllBackends : IAsyncLifetime
{
    public FakeOpenAiServer OpenAi { get; private set; } = null!;
    public FakeAnthropicServer Anthropic { get; private set; } = null!;
    public FakeGeminiServer Gemini { get; private set; } = null!;
    public GatewayServer Gateway { get; private set; } = null!;

    public int UpstreamCalls => OpenAi.Requests.Count + Anthropic.Requests.Count + Gemini.Requests.Count;

    public async Task InitializeAsync()
    {
        OpenAi = await FakeOpenAiServer.StartAsync();
        Anthropic = await FakeAnthropicServer.StartAsync();
        Gemini = await FakeGeminiServer.StartAsync();
        Gateway = await GatewayServer.StartWithArgsAsync(
        [
            .. GatewayServer.Provider("fa", OpenAi.BaseUrl, OpenAi.ApiKey),
            "--Sanjia:Providers:fa:EmbeddingModels:0=text-embedding-3-small",
            .. GatewayServer.Provider("claude", Anthropic.BaseUrl, Anthropic.ApiKey, type: "anthropic"),
            .. GatewayServer.Provider("gem", Gemini.BaseUrl, Gemini.ApiKey, type: "gemini"),
            $"--Sanjia:ModelFiles:0={TestModel.Path}",
            "--Sanjia:Routing:Retry:MaxAttempts=1",
            // An alias over two protocols, for the fuzz suite's promote route and fallbacks.
            .. GatewayServer.Deployment("chat", 0, "fa", "gpt-4o-mini"),
            .. GatewayServer.Deployment("chat", 1, "claude", "c"),
        ]);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await OpenAi.DisposeAsync();
        await Anthropic.DisposeAsync();
        await Gemini.DisposeAsync();
    }

    /// <summary>Posts raw bytes as JSON with the master key; returns the status and the body as JSON.</summary>
    public async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await Gateway.Http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text.Length == 0 ? "null" : text);
        return ((int)response.StatusCode, doc.RootElement.Clone(), response);
    }

    public Task<(int Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string path, string body) =>
        PostAsync(path, Encoding.UTF8.GetBytes(body));
}
