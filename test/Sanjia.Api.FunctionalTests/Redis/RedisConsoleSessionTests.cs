using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Sanjia.Api.Console;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Api.FunctionalTests.Metering;
using Sanjia.Testing.FakeUpstream;
using StackExchange.Redis;

namespace Sanjia.Api.FunctionalTests.Redis;

/// <summary>
/// The web console behind a load balancer: with Redis configured, a browser signed in through one instance is signed
/// in on the others, signing out through one ends the session on all, and Redis holds the session only encrypted.
/// </summary>
public sealed class RedisConsoleSessionTests
{
    [SkippableFact]
    public async Task A_console_session_opened_on_one_instance_works_on_another_and_ends_everywhere()
    {
        await using var redis = await RedisFixture.ServerAsync();
        await using var upstream = await FakeOpenAiServer.StartAsync();
        string[] Args() => [.. MeteringSetup.Settings(upstream), .. RedisFixture.GatewayArgs(redis, "console")];
        await using var a = await GatewayServer.StartWithArgsAsync(Args());
        await using var b = await GatewayServer.StartWithArgsAsync(Args());

        // One browser: cookies are not port-bound, so the cookie set by A goes to B as it would through one front.
        var cookies = new CookieContainer();
        using var toA = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = new Uri(a.BaseUrl) };
        using var toB = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = new Uri(b.BaseUrl) };
        using var signIn = await toA.PostAsJsonAsync("/ui/session", new { key = GatewayServer.MasterKey });
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var csrf = JsonDocument.Parse(await signIn.Content.ReadAsStringAsync()).RootElement.GetProperty("csrf_token").GetString()!;
        var session = cookies.GetCookies(new Uri(a.BaseUrl))[ConsoleSessions.Cookie]!.Value;

        // B knows the session: it reads and, with the CSRF token, writes through it.
        using (var read = await toB.GetAsync("/admin/keys")) Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using (var described = await toB.GetAsync("/ui/session"))
        {
            Assert.Equal(HttpStatusCode.OK, described.StatusCode);
            Assert.Equal("master", JsonDocument.Parse(await described.Content.ReadAsStringAsync()).RootElement.GetProperty("actor").GetString());
        }
        using (var write = new HttpRequestMessage(HttpMethod.Post, "/admin/teams") { Content = JsonContent.Create(new { name = "made-through-b" }) })
        {
            write.Headers.Add(ConsoleSessions.CsrfHeader, csrf);
            using var r = await toB.SendAsync(write);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }

        // Redis holds one session record, and no key in it.
        using var inspect = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var server = inspect.GetServer(inspect.GetEndPoints().Single());
        var stored = server.Keys(pattern: "{console}:session:*").ToList();
        var record = (byte[])(await inspect.GetDatabase().StringGetAsync(Assert.Single(stored)))!;
        Assert.DoesNotContain(GatewayServer.MasterKey, Encoding.Latin1.GetString(record), StringComparison.Ordinal);
        Assert.DoesNotContain(session, stored.Single().ToString(), StringComparison.Ordinal); // named by the id's hash

        // Signing out through B ends the session on A too (the old cookie sent again by hand).
        using (var signOut = new HttpRequestMessage(HttpMethod.Delete, "/ui/session"))
        {
            signOut.Headers.Add(ConsoleSessions.CsrfHeader, csrf);
            using var r = await toB.SendAsync(signOut);
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        }
        using var replay = new HttpRequestMessage(HttpMethod.Get, "/admin/keys");
        replay.Headers.Add("Cookie", $"{ConsoleSessions.Cookie}={session}");
        using (var after = await a.Anonymous.SendAsync(replay)) Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Empty(server.Keys(pattern: "{console}:session:*"));

        // Redis gone: the console's routes and cookies say so (503), a key in a header still opens the admin API.
        using (var again = await toA.PostAsJsonAsync("/ui/session", new { key = GatewayServer.MasterKey })) Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await redis.StopAsync();
        foreach (var r in new[] { await toA.GetAsync("/admin/keys"), await toA.GetAsync("/ui/session"), await toA.PostAsJsonAsync("/ui/session", new { key = GatewayServer.MasterKey }) })
        {
            using (r)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                Assert.Equal("session_store_unavailable", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
            }
        }
        Assert.Equal(JsonValueKind.Array, (await a.AdminAsync(HttpMethod.Get, "/admin/keys")).GetProperty("data").ValueKind);
    }
}
