using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>Azure OpenAI (<c>Type: azure</c>) behind the gateway: deployment URLs, api-version, api-key, byte pass-through.</summary>
public sealed class AzureBackendTests
{
    private static async Task<(FakeOpenAiServer Fake, GatewayServer Gateway)> StartAsync(params string[] extra)
    {
        var fake = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Azure = true });
        var endpoint = fake.BaseUrl[..^"/v1".Length];
        var gateway = await GatewayServer.StartWithArgsAsync(
        [
            "--Sanjia:Providers:az:Type=azure", $"--Sanjia:Providers:az:Endpoint={endpoint}", $"--Sanjia:Providers:az:ApiKey={fake.ApiKey}",
            "--Sanjia:Providers:az:Deployments:gpt-4o=prod-gpt4o", .. extra,
        ]);
        return (fake, gateway);
    }

    [Fact]
    public async Task Chat_goes_to_the_mapped_deployment_with_the_default_api_version_and_api_key_header()
    {
        var (fake, gateway) = await StartAsync();
        await using var f = fake;
        await using var g = gateway;
        fake.Enqueue(FakeBehavior.Reply("hi from azure"));
        using var http = gateway.CreateHttpClient();
        const string body = """{"model":"az/gpt-4o","messages":[{"role":"user","content":"hello"}],"temperature":0.3}""";
        using var response = await http.PostAsync("v1/chat/completions", AnthropicMessagesTests.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        Assert.Equal("hi from azure", (string?)JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]);

        var sent = fake.Requests.Single();
        Assert.Equal("/openai/deployments/prod-gpt4o/chat/completions", sent.Path);
        Assert.Equal("?api-version=2024-10-21", sent.QueryString);
        Assert.Equal(fake.ApiKey, sent.Headers["api-key"]);
        Assert.False(sent.Headers.ContainsKey("authorization"));
        // Byte pass-through: only the model was rewritten.
        Assert.Equal(body.Replace("az/gpt-4o", "gpt-4o"), System.Text.Encoding.UTF8.GetString(sent.Body.Span));
    }

    [Fact]
    public async Task Unmapped_model_is_its_own_deployment_and_streams_pass_through()
    {
        var (fake, gateway) = await StartAsync("--Sanjia:Providers:az:ApiVersion=2025-01-01-preview");
        await using var f = fake;
        await using var g = gateway;
        fake.Enqueue(FakeBehavior.Reply("one two three"));
        using var http = gateway.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = AnthropicMessagesTests.Json("""{"model":"az/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"count"}]}"""),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadDataAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        var text = string.Concat(events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")).Where(c => c.GetArrayLength() > 0)
            .Select(c => c[0].GetProperty("delta")).Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString()));
        Assert.Equal("one two three", text);
        var sent = fake.Requests.Single();
        Assert.Equal("/openai/deployments/gpt-4o-mini/chat/completions", sent.Path);
        Assert.Equal("?api-version=2025-01-01-preview", sent.QueryString);
    }

    [Fact]
    public async Task Api_version_v1_uses_the_version_less_path_with_the_model_in_the_body()
    {
        var (fake, gateway) = await StartAsync("--Sanjia:Providers:az:ApiVersion=v1");
        await using var f = fake;
        await using var g = gateway;
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/responses", AnthropicMessagesTests.Json("""{"model":"az/gpt-4o","input":"hi"}"""));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var sent = fake.Requests.Single();
        Assert.Equal("/openai/v1/chat/completions", sent.Path);
        Assert.Equal("", sent.QueryString);
        Assert.Equal("prod-gpt4o", JsonDocument.Parse(sent.Body).RootElement.GetProperty("model").GetString()); // v1: model = deployment name
    }

    [Fact]
    public async Task Missing_endpoint_is_a_configuration_error_naming_the_key()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => GatewayServer.StartWithArgsAsync("--Sanjia:Providers:az:Type=azure", "--Sanjia:Providers:az:ApiKey=k"));
        Assert.Contains("Sanjia:Providers:az:Endpoint", ex.ToString());
    }
}
