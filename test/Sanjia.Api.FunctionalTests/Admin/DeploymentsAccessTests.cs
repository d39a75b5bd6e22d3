using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary>
/// <c>GET /admin/deployments</c> follows the admin API's access rule like every other read: the master key, an
/// <c>admin</c> key or an <c>admin:read</c> key (with a Bearer header or the console's session). It used to be
/// master-only, so the console's Deployments page failed for read-only admins.
/// </summary>
public sealed class DeploymentsAccessTests
{
    [Fact]
    public async Task A_read_only_admin_reads_deployment_health_by_key_and_by_console_session_and_a_model_key_does_not()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartAsync([.. GatewayServer.Upstream(upstream),
            new("Models:chat:Deployments:0:Provider", "fake"), new("Models:chat:Deployments:0:Model", "gpt-4o-mini")]);
        var (_, reader) = await gw.CreateKeyAsync(new { name = "dashboard", scopes = new[] { "admin:read" } });
        var (_, admin) = await gw.CreateKeyAsync(new { name = "ops", scopes = new[] { "admin" } });
        var (_, plain) = await gw.CreateKeyAsync(new { name = "app" });
        var expected = (await gw.DeploymentsAsync()).EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToList();
        Assert.Equal(["fake/gpt-4o-mini"], expected);

        foreach (var key in new[] { reader, admin })
        {
            using var response = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, "/admin/deployments", key));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            Assert.Equal(expected, JsonDocument.Parse(text).RootElement.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
        }

        using (var refused = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, "/admin/deployments", plain)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("admin_only", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = new Uri(gw.BaseUrl) };
        using (var signIn = await browser.PostAsJsonAsync("/ui/session", new { key = reader })) Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        using var viaSession = await browser.GetAsync("/admin/deployments");
        Assert.Equal(HttpStatusCode.OK, viaSession.StatusCode);
        Assert.Equal(expected, JsonDocument.Parse(await viaSession.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
    }
}
