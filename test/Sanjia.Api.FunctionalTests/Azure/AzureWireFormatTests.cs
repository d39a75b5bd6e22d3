using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Azure;

/// <summary>
/// Azure OpenAI addressing against a fake that knows which deployments exist (Azure answers 404 DeploymentNotFound
/// otherwise): dated api-version URLs carry the deployment in the path, the v1 API in the body's <c>model</c>.
/// </summary>
public sealed class AzureWireFormatTests
{
    private static async Task<(FakeOpenAiServer Fake, GatewayServer Gateway)> StartAsync(string apiVersion)
    {
        var fake = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Azure = true, AzureDeployments = ["prod-gpt4o", "embed-small"] });
        var gateway = await GatewayServer.StartAsync(
        [
            new("Providers:az:Type", "azure"),
            new("Providers:az:Endpoint", fake.BaseUrl[..^"/v1".Length]),
            new("Providers:az:ApiKey", fake.ApiKey),
            new("Providers:az:ApiVersion", apiVersion),
            new("Providers:az:Deployments:gpt-4o", "prod-gpt4o"),
            new("Providers:az:Deployments:text-embedding-3-small", "embed-small"),
            new("Providers:az:EmbeddingModels:0", "text-embedding-3-small"),
        ]);
        return (fake, gateway);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("v1", "/openai/v1/chat/completions", "prod-gpt4o")]
    [InlineData("2024-10-21", "/openai/deployments/prod-gpt4o/chat/completions", "gpt-4o")]
    public async Task Chat_reaches_the_mapped_deployment(string apiVersion, string path, string bodyModel)
    {
        var (fake, gateway) = await StartAsync(apiVersion);
        await using var f = fake;
        await using var g = gateway;

        using var response = await gateway.Http.PostAsync("/v1/chat/completions", Json("""{"model":"az/gpt-4o","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var sent = fake.Requests.Single();
        Assert.Equal(path, sent.Path);
        Assert.Equal(bodyModel, (string?)JsonNode.Parse(sent.BodyText)!["model"]);
    }

    [Fact]
    public async Task Embeddings_on_the_v1_api_name_the_deployment_in_the_body()
    {
        var (fake, gateway) = await StartAsync("v1");
        await using var f = fake;
        await using var g = gateway;

        using var response = await gateway.Http.PostAsync("/v1/embeddings", Json("""{"model":"az/text-embedding-3-small","input":"hello"}"""));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var sent = fake.Requests.Single();
        Assert.Equal("/openai/v1/embeddings", sent.Path);
        Assert.Equal("embed-small", (string?)JsonNode.Parse(sent.BodyText)!["model"]);
    }
}
