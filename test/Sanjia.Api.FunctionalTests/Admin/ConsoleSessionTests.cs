using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sanjia.Api.Console;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary>The console's sign-in, session cookie and CSRF rules, and how its files are served, over real HTTP.</summary>
public sealed class ConsoleSessionTests
{
    private static HttpClient Browser(GatewayServer gw) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = new Uri(gw.BaseUrl) };

    private static async Task<(HttpResponseMessage Response, string? Csrf)> SignInAsync(HttpClient http, string key)
    {
        var r = await http.PostAsJsonAsync("/ui/session", new { key });
        var csrf = r.IsSuccessStatusCode ? JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("csrf_token").GetString() : null;
        return (r, csrf);
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString();

    [Fact]
    public async Task The_session_cookie_is_http_only_and_strict_stands_for_the_key_and_writes_need_the_csrf_token()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartAsync(GatewayServer.Upstream(upstream));
        var (adminId, adminSecret) = await gw.CreateKeyAsync(new { name = "ops", scopes = new[] { "admin" } });
        var (_, modelSecret) = await gw.CreateKeyAsync(new { name = "app" });

        using var browser = Browser(gw);
        using (var none = await browser.GetAsync("/admin/keys")) Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        var (refused, _) = await SignInAsync(browser, modelSecret);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("admin_only", await CodeAsync(refused));
        var (wrong, _) = await SignInAsync(browser, "sk-sj-wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        var (ok, csrf) = await SignInAsync(browser, adminSecret);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var setCookie = Assert.Single(ok.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith(ConsoleSessions.Cookie + "=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(adminSecret, setCookie, StringComparison.Ordinal);

        // Reads need only the cookie; a write needs the token too, and a wrong one is refused before anything changes.
        using (var read = await browser.GetAsync("/admin/keys")) Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using (var noToken = await browser.PostAsJsonAsync("/admin/teams", new { name = "t1" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
            Assert.Equal("csrf_token_invalid", await CodeAsync(noToken));
        }
        using (var badToken = new HttpRequestMessage(HttpMethod.Post, "/admin/teams") { Content = JsonContent.Create(new { name = "t2" }) })
        {
            badToken.Headers.Add(ConsoleSessions.CsrfHeader, "not-the-token");
            using var r = await browser.SendAsync(badToken);
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        }
        Assert.Empty((await gw.AdminAsync(HttpMethod.Get, "/admin/teams")).GetProperty("data").EnumerateArray());
        using (var write = new HttpRequestMessage(HttpMethod.Post, "/admin/teams") { Content = JsonContent.Create(new { name = "t3" }) })
        {
            write.Headers.Add(ConsoleSessions.CsrfHeader, csrf);
            using var r = await browser.SendAsync(write);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
        var audit = (await gw.AdminAsync(HttpMethod.Get, "/admin/audit?path=/admin/teams")).GetProperty("data")[0];
        Assert.Equal((adminId, "console"), (audit.GetProperty("actor").GetString(), audit.GetProperty("via").GetString()));

        // The cookie opens the admin API only: the model routes still want a key.
        using (var chat = await browser.PostAsync("/v1/chat/completions", GatewayServer.ChatBody("gpt-4o-mini"))) Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);

        // Revoking the key ends its sessions at once.
        await gw.AdminAsync(HttpMethod.Delete, $"/admin/keys/{adminId}");
        using (var after = await browser.GetAsync("/admin/keys")) Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Theory]
    [InlineData("""{}""", "missing_required_parameter")]
    [InlineData("""{"key":""}""", "missing_required_parameter")]
    [InlineData("""{"key":5}""", "invalid_type")]
    public async Task A_sign_in_without_a_key_string_is_a_400_naming_key_not_a_wrong_key(string body, string code)
    {
        // It answered 401 "Incorrect, revoked or expired key." for a form that sent no key at all.
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartAsync(GatewayServer.Upstream(upstream));
        using var browser = Browser(gw);
        using var r = await browser.PostAsync("/ui/session", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var error = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(("key", code), (error.GetProperty("param").GetString(), error.GetProperty("code").GetString()));
        Assert.False(r.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_read_only_session_reads_but_cannot_write_and_signing_out_ends_it()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartAsync(GatewayServer.Upstream(upstream));
        var (_, reader) = await gw.CreateKeyAsync(new { name = "auditor", scopes = new[] { "admin:read" } });
        using var browser = Browser(gw);
        var (ok, csrf) = await SignInAsync(browser, reader);
        Assert.Equal("read", JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("access").GetString());
        using (var me = await browser.GetAsync("/ui/session")) Assert.Equal(csrf, JsonDocument.Parse(await me.Content.ReadAsStringAsync()).RootElement.GetProperty("csrf_token").GetString());
        using (var write = new HttpRequestMessage(HttpMethod.Post, "/admin/teams") { Content = JsonContent.Create(new { name = "t" }) })
        {
            write.Headers.Add(ConsoleSessions.CsrfHeader, csrf);
            using var r = await browser.SendAsync(write);
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            Assert.Equal("admin_read_only", await CodeAsync(r));
        }
        using (var noToken = await browser.DeleteAsync("/ui/session")) Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
        using (var signOut = new HttpRequestMessage(HttpMethod.Delete, "/ui/session"))
        {
            signOut.Headers.Add(ConsoleSessions.CsrfHeader, csrf);
            using var r = await browser.SendAsync(signOut);
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        }
        using (var after = await browser.GetAsync("/admin/keys")) Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using (var me = await browser.GetAsync("/ui/session")) Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
    }

    [Fact]
    public async Task The_console_is_served_gzip_compressed_with_validators_and_a_first_load_under_300_KB()
    {
        await using var gw = await GatewayServer.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = new Uri(gw.BaseUrl) };
        http.DefaultRequestHeaders.AcceptEncoding.ParseAdd("gzip");

        // The first load: the page and every file it pulls in (its modules import each other).
        var total = 0L;
        var files = new[] { "/ui", "/ui/console.css", "/ui/app.js", "/ui/api.js", "/ui/dom.js", "/ui/chart.js", "/ui/pages-traffic.js", "/ui/pages-admin.js" };
        foreach (var path in files)
        {
            using var r = await http.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            Assert.Equal("gzip", Assert.Single(r.Content.Headers.ContentEncoding));
            Assert.Equal("no-cache", r.Headers.CacheControl?.ToString());
            Assert.NotNull(r.Headers.ETag);
            Assert.Contains("script-src 'self'", r.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            var bytes = await r.Content.ReadAsByteArrayAsync();
            total += bytes.Length;
            using var plain = new StreamReader(new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress));
            var text = await plain.ReadToEndAsync();
            Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal); // no CDN
            Assert.DoesNotContain("https://", text, StringComparison.Ordinal);

            using var again = new HttpRequestMessage(HttpMethod.Get, path);
            again.Headers.IfNoneMatch.Add(r.Headers.ETag!);
            using var cached = await http.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
        }
        Assert.Equal(ConsoleEndpoints.GzipSizes.Values.Sum(), total); // every embedded file is part of the first load
        Assert.InRange(total, 1, 300 * 1024);
        using (var missing = await http.GetAsync("/ui/nothing.js")) Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
