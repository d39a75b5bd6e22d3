using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Hosting;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary>
/// A key's <c>allowed_models</c> as an operator sets it: ids a client can send are taken, a misspelt one or a pattern
/// is a 400 naming its place in the list, and an id a reload has since removed breaks neither the key nor its edits.
/// </summary>
public sealed class KeyAllowedModelsTests
{
    /// <summary>Provider <c>a</c> (forwards models it does not list) behind the aliases given.</summary>
    private static string Config(FakeOpenAiServer a, params string[] aliases) =>
        "{\"Sanjia\":{\"Providers\":{"
        + $"\"a\":{{\"BaseUrl\":\"{a.BaseUrl}\",\"ApiKey\":\"{a.ApiKey}\"}}}},"
        + "\"Models\":{" + string.Join(",", aliases.Select(n => $"\"{n}\":{{\"Deployments\":[{{\"Provider\":\"a\",\"Model\":\"m\"}}]}}")) + "}}}";

    private static async Task AssertRefusedAsync(GatewayServer gw, HttpMethod method, string path, string[] models, string param, string named)
    {
        var error = (await gw.AdminAsync(method, path, new { allowed_models = models }, 400)).GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains($"'{named}'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_ids_and_patterns_are_refused_and_an_id_a_reload_removed_breaks_nothing()
    {
        await using var a = await FakeOpenAiServer.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), $"sanjia-allowed-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, Config(a, "chat", "old"));
        try
        {
            await using var gw = await GatewayServer.StartWithArgsAsync("--config", file);

            // Aliases (in any case, as clients may send them) and provider/model for a provider that forwards unlisted models.
            var (id, secret) = await gw.CreateKeyAsync(new { name = "app", allowed_models = new[] { "chat", "OLD", "a/gpt-anything" } });
            await AssertRefusedAsync(gw, HttpMethod.Post, "/admin/keys", ["chat", "chta"], "allowed_models[1]", "chta");
            await AssertRefusedAsync(gw, HttpMethod.Post, "/admin/keys", ["nobody/m"], "allowed_models[0]", "nobody/m");
            await AssertRefusedAsync(gw, HttpMethod.Post, "/admin/keys", ["chat", "a/*"], "allowed_models[1]", "a/*");
            await AssertRefusedAsync(gw, HttpMethod.Patch, $"/admin/keys/{id}", ["chat", "old", "gpt-4o"], "allowed_models[2]", "gpt-4o");
            Assert.Equal(3, (await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{id}")).GetProperty("allowed_models").GetArrayLength());

            // The alias "old" is removed by a reload: the key keeps it, still calls "chat", and can be edited with the
            // list sent back as read; a new unknown id is still refused.
            await File.WriteAllTextAsync(file, Config(a, "chat"));
            Assert.Empty(await gw.Service<ConfigReloader>().ReloadAsync());
            async Task<HttpStatusCode> CallAsync(string model)
            {
                using var request = GatewayServer.Chat(model, stream: false);
                request.Headers.Authorization = new("Bearer", secret);
                using var response = await gw.Anonymous.SendAsync(request);
                return response.StatusCode;
            }
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.NotFound), (await CallAsync("chat"), await CallAsync("old")));
            var read = await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{id}");
            var held = read.GetProperty("allowed_models").EnumerateArray().Select(m => m.GetString()!).ToArray();
            Assert.Equal(["chat", "OLD", "a/gpt-anything"], held);
            var renamed = await gw.AdminAsync(HttpMethod.Patch, $"/admin/keys/{id}", new { name = "renamed", allowed_models = held });
            Assert.Equal(("renamed", 3), (renamed.GetProperty("name").GetString(), renamed.GetProperty("allowed_models").GetArrayLength()));
            await AssertRefusedAsync(gw, HttpMethod.Patch, $"/admin/keys/{id}", [.. held, "older"], "allowed_models[3]", "older");
            using (var models = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, "/v1/models", secret)))
            {
                var listed = JsonDocument.Parse(await models.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
                Assert.Equal(["chat"], listed.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}
