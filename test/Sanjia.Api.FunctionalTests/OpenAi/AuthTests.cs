using System.Net;
using System.Text;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

public sealed class AuthTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [InlineData("Authorization", "Bearer " + GatewayServer.MasterKey)]
    [InlineData("x-api-key", GatewayServer.MasterKey)]
    [InlineData("api-key", GatewayServer.MasterKey)]
    public async Task All_three_key_headers_are_accepted_alike(string header, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.TryAddWithoutValidation(header, value);
        using var response = await _gateway.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/v1/models", null, null)]
    [InlineData("GET", "/v1/models", "Authorization", "Bearer wrong-key")]
    [InlineData("GET", "/v1/models", "x-api-key", "wrong-key")]
    [InlineData("GET", "/v1/models", "api-key", "")]
    [InlineData("POST", "/v1/chat/completions", null, null)]
    [InlineData("POST", "/v1/embeddings", "Authorization", "Basic abc")]
    [InlineData("GET", "/v1/models/anything", null, null)]
    [InlineData("GET", "/anything-else", null, null)]
    public async Task Every_route_but_health_needs_a_valid_key(string method, string path, string? header, string? value)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        if (header is not null) request.Headers.TryAddWithoutValidation(header, value);
        using var response = await _gateway.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        OpenApiSpec.AssertValid("ErrorResponse", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_routes_are_open(string path)
    {
        using var response = await _gateway.Anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
