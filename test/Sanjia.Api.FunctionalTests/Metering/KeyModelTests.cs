using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

/// <summary>
/// The key model (docs/decisions/0004-key-model.md) over real HTTP: admin writes refuse unknown fields, keys expire,
/// and scopes open the admin API to virtual keys (all of it, or GET only).
/// </summary>
public sealed class KeyModelTests : IAsyncLifetime
{
    private FakeOpenAiServer _upstream = null!;
    private GatewayServer _gw = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeOpenAiServer.StartAsync();
        _gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(_upstream));
    }

    public async Task DisposeAsync()
    {
        await _gw.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string key, object? body = null)
    {
        using var response = await _gw.Anonymous.SendAsync(_gw.Request(method, path, key, body));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<HttpResponseMessage> ChatAsync(string key)
    {
        var m = _gw.Request(HttpMethod.Post, "/v1/chat/completions", key);
        m.Content = MeteringSetup.ChatBody();
        return await _gw.Anonymous.SendAsync(m);
    }

    private static string Code(JsonElement body) => body.GetProperty("error").GetProperty("code").GetString()!;

    [Fact]
    public async Task Every_admin_write_route_refuses_unknown_fields_with_a_400_naming_them_and_changes_nothing()
    {
        var (keyId, _) = await _gw.CreateKeyAsync(new { name = "k" });
        var team = await _gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "t" }, 201);
        var teamId = team.GetProperty("id").GetString()!;

        foreach (var (method, path, body, field) in new (string, string, object, string)[]
        {
            ("POST", "/admin/keys", new { name = "x", expires = "2030-01-01T00:00:00Z" }, "expires"),
            ("PATCH", $"/admin/keys/{keyId}", new { name = "renamed", budegt = new { amount = "5", currency = "USD" } }, "budegt"),
            ("POST", "/admin/teams", new { name = "y", owner = "ana" }, "owner"),
            ("PATCH", $"/admin/teams/{teamId}", new { name = "renamed", rpm_limit = 5 }, "rpm_limit"),
            ("POST", "/admin/aliases/chat/promote", new { provider = "fake", model = "gpt-test", reason = "cheaper" }, "reason"),
            ("POST", "/admin/aliases/chat/rollout", new { provider = "fake", model = "gpt-test", step = new[] { 5, 100 } }, "step"),
            ("POST", "/admin/prompts", new { id = "p", messages = new[] { new { role = "user", content = "hi" } }, colour = "blue" }, "colour"),
            ("POST", "/admin/compare", new { models = new[] { "chat" }, suit = "cases.yaml" }, "suit"),
        })
        {
            var (status, error) = await SendAsync(new HttpMethod(method), path, GatewayServer.MasterKey, body);

            Assert.True(status == HttpStatusCode.BadRequest, $"{method} {path}: {(int)status} {error}");
            Assert.Equal("unknown_fields", Code(error));
            Assert.Equal(field, error.GetProperty("error").GetProperty("param").GetString());
            Assert.Contains($"'{field}'", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var keys = await _gw.AdminAsync(HttpMethod.Get, "/admin/keys");
        Assert.Equal("k", Assert.Single(keys.GetProperty("data").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal("t", (await _gw.AdminAsync(HttpMethod.Get, $"/admin/teams/{teamId}")).GetProperty("name").GetString());
    }

    [Fact]
    public async Task An_expired_key_gets_a_401_key_expired_in_the_callers_protocol_until_its_expiry_moves()
    {
        var created = await _gw.AdminAsync(HttpMethod.Post, "/admin/keys", new { name = "temp", expires_at = "2099-12-31T23:59:59+08:00" }, 201);
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("key").GetString()!);
        Assert.Equal("2099-12-31T15:59:59+00:00", created.GetProperty("expires_at").GetString());
        Assert.Equal("active", created.GetProperty("status").GetString());
        using (var ok = await ChatAsync(secret))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await _gw.AdminAsync(HttpMethod.Patch, $"/admin/keys/{id}", new { expires_at = "2020-01-01T00:00:00Z" });

        using (var openAi = await ChatAsync(secret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, openAi.StatusCode);
            var error = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("key_expired", Code(error));
            Assert.Contains("2020-01-01T00:00:00Z", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var anthropic = _gw.Request(HttpMethod.Post, "/v1/messages", secret);
        anthropic.Content = new StringContent("""{"model":"chat","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");
        using (var response = await _gw.Anonymous.SendAsync(anthropic))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal("authentication_error", error.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("expired", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal("expired", (await _gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{id}")).GetProperty("status").GetString());

        await _gw.AdminAsync(HttpMethod.Patch, $"/admin/keys/{id}", new { expires_at = (string?)null });
        using (var again = await ChatAsync(secret))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        foreach (var bad in new[] { "2030-01-01", "2030-01-01T00:00:00", "next week" })
        {
            var e = await _gw.AdminAsync(HttpMethod.Patch, $"/admin/keys/{id}", new { expires_at = bad }, 400);
            Assert.Equal("expires_at", e.GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Scopes_open_the_admin_api_to_a_virtual_key_all_of_it_or_only_to_read()
    {
        var (_, admin) = await _gw.CreateKeyAsync(new { name = "ops", scopes = new[] { "admin" } });
        var (_, reader) = await _gw.CreateKeyAsync(new { name = "dashboard", scopes = new[] { "admin:read" } });
        var (_, evaluation) = await _gw.CreateKeyAsync(new { name = "compare", scopes = new[] { "evaluation" } });
        var (_, plain) = await _gw.CreateKeyAsync(new { name = "app" });

        Assert.Equal(HttpStatusCode.Created, (await SendAsync(HttpMethod.Post, "/admin/keys", admin, new { name = "made-by-ops" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/admin/keys", reader)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/admin/prompts", reader)).Status);
        var (status, error) = await SendAsync(HttpMethod.Post, "/admin/keys", reader, new { name = "escalate" });
        Assert.Equal((HttpStatusCode.Forbidden, "admin_read_only"), (status, Code(error)));
        (status, error) = await SendAsync(HttpMethod.Post, "/admin/prompts", reader, new { id = "p", messages = new[] { new { role = "user", content = "hi" } } });
        Assert.Equal((HttpStatusCode.Forbidden, "admin_read_only"), (status, Code(error)));
        foreach (var key in new[] { evaluation, plain })
        {
            (status, error) = await SendAsync(HttpMethod.Get, "/admin/keys", key);
            Assert.Equal((HttpStatusCode.Forbidden, "admin_only"), (status, Code(error)));
            using var chat = await ChatAsync(key);
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var keys = await _gw.AdminAsync(HttpMethod.Get, "/admin/keys");
        Assert.Contains(keys.GetProperty("data").EnumerateArray(), k => k.GetProperty("name").GetString() == "made-by-ops");
        Assert.Equal(["admin:read"], keys.GetProperty("data").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "dashboard")
            .GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        var unknown = await _gw.AdminAsync(HttpMethod.Post, "/admin/keys", new { scopes = new[] { "superuser" } }, 400);
        Assert.Equal("scopes", unknown.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("admin:read", unknown.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
