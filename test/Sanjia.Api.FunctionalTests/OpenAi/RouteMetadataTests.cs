using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.Infrastructure;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>
/// Who may call a route, and the shape of its errors, come from the route's endpoint metadata (set on the route
/// groups in <c>SanjiaApi.cs</c>), not from lists of paths: the app's own endpoints are read here, then probed over HTTP.
/// </summary>
public sealed class RouteMetadataTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private List<RouteEndpoint> Endpoints() =>
        [.. _gateway.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()];

    [Fact]
    public void Every_endpoint_declares_who_may_call_it()
    {
        var endpoints = Endpoints();
        Assert.True(endpoints.Count > 30, $"only {endpoints.Count} endpoints");
        Assert.Empty(endpoints.Where(e => e.Metadata.GetMetadata<RouteAccess>() is null).Select(e => e.RoutePattern.RawText));

        var anonymous = endpoints.Where(e => e.Metadata.GetMetadata<RouteAccess>() == RouteAccess.Anonymous).Select(e => e.RoutePattern.RawText).Order();
        // The web console's files and its sign-in (POST, GET, DELETE /ui/session) are the only other open routes.
        Assert.Equal(new[] { "/", "/health/live", "/health/ready", "/ui", "/ui/{file}", "/ui/session", "/ui/session", "/ui/session" }.Order(), anonymous);
        foreach (var e in endpoints)
        {
            var path = e.RoutePattern.RawText!;
            var access = e.Metadata.GetMetadata<RouteAccess>();
            Assert.True(path.StartsWith("/admin", StringComparison.Ordinal) == (access == RouteAccess.Admin), $"{path}: {access}");
            var anthropic = path.StartsWith("/v1/messages", StringComparison.Ordinal);
            Assert.True(anthropic == (e.Metadata.GetMetadata<ErrorDialect>() == ErrorDialect.Anthropic), $"{path}: dialect");
        }
    }

    [Theory]
    [InlineData("/v1/messages/batches")]
    [InlineData("/v1/messages/count_tokens/extra")]
    public async Task An_unknown_path_under_messages_is_a_404_in_anthropics_shape(string path)
    {
        using var http = _gateway.CreateHttpClient();
        using var response = await http.PostAsync(path.TrimStart('/'), new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", doc.GetProperty("type").GetString());
        Assert.Equal("not_found_error", doc.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(path, doc.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Without_a_key_messages_routes_refuse_in_anthropics_shape_and_others_in_openais()
    {
        using var messages = await _gateway.Anonymous.PostAsync("/v1/messages", new StringContent("{}", Encoding.UTF8, "application/json"));
        using var unknown = await _gateway.Anonymous.GetAsync("/v1/messages/nothing-here");
        using var chat = await _gateway.Anonymous.PostAsync("/v1/chat/completions", new StringContent("{}", Encoding.UTF8, "application/json"));

        foreach (var anthropic in new[] { messages, unknown })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anthropic.StatusCode);
            var doc = JsonDocument.Parse(await anthropic.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("authentication_error", doc.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("error", doc.GetProperty("type").GetString());
        }
        Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
        var openAi = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement;
        Assert.False(openAi.TryGetProperty("type", out _));
        Assert.Equal("missing_api_key", openAi.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>
    /// Every admin route, including those once guarded inside their endpoints (prompts, aliases, comparisons, shadow)
    /// and a path no route serves, refuses a model key with one error shape: 403 <c>admin_only</c> in OpenAI's form.
    /// </summary>
    [Fact]
    public async Task Every_admin_route_refuses_a_model_key_in_the_one_error_shape()
    {
        var (_, secret) = await _gateway.CreateKeyAsync(new { name = "model-only" });
        var admin = Endpoints()
            .Where(e => e.Metadata.GetMetadata<RouteAccess>() == RouteAccess.Admin)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Path: Concrete(e.RoutePattern.RawText!))))
            .ToList();
        Assert.Contains(admin, r => r.Path.StartsWith("/admin/shadow/", StringComparison.Ordinal));
        Assert.Contains(admin, r => r.Path.StartsWith("/admin/nothing", StringComparison.Ordinal)); // the admin area's fallback

        foreach (var (method, path) in admin)
        {
            using var response = await _gateway.Anonymous.SendAsync(_gateway.Request(new HttpMethod(method), path, secret, method is "POST" or "PATCH" ? new { } : null));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)response.StatusCode} {text}");
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal("admin_only", error.GetProperty("code").GetString());
            Assert.Equal("permission_error", error.GetProperty("type").GetString());
        }

        // The same key calls the model routes, and a path no route serves is a 404 for it, not a 403.
        using var models = await _gateway.Anonymous.SendAsync(_gateway.Request(HttpMethod.Get, "/v1/models", secret));
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        using var unknown = await _gateway.Anonymous.SendAsync(_gateway.Request(HttpMethod.Get, "/v2/anything", secret));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_route", JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>A route template made into a path: each parameter (and a catch-all) becomes a word.</summary>
    private static string Concrete(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template, @"\{\*{0,2}([a-z]+)[^}]*\}", m => m.Groups[1].Value == "path" ? "nothing" : "x" + m.Groups[1].Value);
}
