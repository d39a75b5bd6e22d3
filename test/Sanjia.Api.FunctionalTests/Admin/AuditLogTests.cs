using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary>Every admin write is in <c>GET /admin/audit</c>: who, what, when, from where; never a secret or a value.</summary>
public sealed class AuditLogTests
{
    [Fact]
    public async Task Key_team_and_alias_changes_are_recorded_with_actor_target_fields_and_address_but_no_values()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(
            [.. GatewayServer.Provider("fake", upstream.BaseUrl, upstream.ApiKey), .. GatewayServer.Deployment("chat", 0, "fake", "gpt-4o-mini"), .. GatewayServer.Deployment("chat", 1, "fake", "gpt-4o")]);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var team = (await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "research", budget = new { amount = "50", currency = "USD", period = "monthly" } }, 201)).GetProperty("id").GetString()!;
        var (adminKey, adminSecret) = await gw.CreateKeyAsync(new { name = "ops", scopes = new[] { "admin" } });
        // A key with the admin scope acts under its own id.
        using (var m = gw.Request(HttpMethod.Post, "/admin/keys", adminSecret, new { name = "notebook", team_id = team, metadata = new { owner = "ana-secret-owner" } }))
        using (var r = await gw.Anonymous.SendAsync(m))
        {
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
        var notebook = (await gw.AdminAsync(HttpMethod.Get, $"/admin/keys?team_id={team}")).GetProperty("data")[0].GetProperty("id").GetString()!;
        await gw.AdminAsync(HttpMethod.Patch, $"/admin/keys/{notebook}", new { rpm_limit = 10 });
        await gw.AdminAsync(HttpMethod.Patch, "/admin/keys/key_missing", new { rpm_limit = 10 }, 404);
        await gw.AdminAsync(HttpMethod.Delete, $"/admin/keys/{notebook}");
        await gw.AdminAsync(HttpMethod.Post, "/admin/aliases/chat/promote", new { provider = "fake", model = "gpt-4o" });
        await gw.AdminAsync(HttpMethod.Get, "/admin/keys"); // reads are not actions

        var log = await gw.AdminAsync(HttpMethod.Get, "/admin/audit");
        var text = log.GetRawText();
        var rows = log.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(
            [("POST", "/admin/aliases/{alias}/promote", "chat", 200), ("DELETE", "/admin/keys/{id}", notebook, 200), ("PATCH", "/admin/keys/{id}", "key_missing", 404),
             ("PATCH", "/admin/keys/{id}", notebook, 200), ("POST", "/admin/keys", notebook, 201), ("POST", "/admin/keys", adminKey, 201), ("POST", "/admin/teams", team, 201)],
            rows.Select(r => (r.GetProperty("method").GetString(), r.GetProperty("route").GetString(), r.GetProperty("target_id").GetString(), r.GetProperty("status").GetInt32())));
        Assert.Equal(["master", "master", "master", "master", adminKey, "master", "master"], rows.Select(r => r.GetProperty("actor").GetString()));
        Assert.All(rows, r => Assert.Equal("127.0.0.1", r.GetProperty("remote_address").GetString()));
        Assert.All(rows, r => Assert.InRange(r.GetProperty("created_at").GetDateTimeOffset(), before, DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.Equal(["name", "team_id", "metadata"], rows[4].GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(["rpm_limit"], rows[3].GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        // Names only: no secret, no value the requests carried.
        Assert.DoesNotContain(adminSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain("ana-secret-owner", text, StringComparison.Ordinal);
        Assert.DoesNotContain("research", text, StringComparison.Ordinal);

        // Filters and pages.
        var byActor = await gw.AdminAsync(HttpMethod.Get, $"/admin/audit?actor={adminKey}");
        Assert.Equal(notebook, Assert.Single(byActor.GetProperty("data").EnumerateArray()).GetProperty("target_id").GetString());
        Assert.Equal(3, (await gw.AdminAsync(HttpMethod.Get, $"/admin/audit?target_id={notebook}")).GetProperty("data").GetArrayLength());
        Assert.Equal(5, (await gw.AdminAsync(HttpMethod.Get, "/admin/audit?path=/admin/keys")).GetProperty("data").GetArrayLength());
        var page = await gw.AdminAsync(HttpMethod.Get, "/admin/audit?limit=4");
        var rest = await gw.AdminAsync(HttpMethod.Get, "/admin/audit?limit=4&cursor=" + page.GetProperty("next_cursor").GetString());
        Assert.Equal(rows.Select(r => r.GetProperty("id").GetString()), page.GetProperty("data").EnumerateArray().Concat(rest.GetProperty("data").EnumerateArray()).Select(r => r.GetProperty("id").GetString()));
        Assert.False(rest.GetProperty("has_more").GetBoolean());

        // The model routes are not audited and a refused admin call never reaches the log (no actor to name).
        using var refused = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Post, "/admin/keys", "sk-sj-wrong", new { name = "x" }));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(7, (await gw.AdminAsync(HttpMethod.Get, "/admin/audit")).GetProperty("data").GetArrayLength());
    }
}
