using System.Net;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Admin;

/// <summary><c>GET /admin/requests</c> over real requests: filters, pages by cursor, bodies only where they are logged.</summary>
public sealed class RequestLogTests
{
    private static string[] Args(FakeOpenAiServer good, FakeOpenAiServer bad, bool bodies) =>
    [
        .. GatewayServer.Provider("good", good.BaseUrl, good.ApiKey),
        .. GatewayServer.Provider("bad", bad.BaseUrl, bad.ApiKey),
        .. GatewayServer.Deployment("chat", 0, "good", "gpt-4o-mini"),
        .. GatewayServer.Deployment("broken", 0, "bad", "gpt-4o-mini"),
        "--Sanjia:Metering:Prices:good/gpt-4o-mini:Currency=USD", "--Sanjia:Metering:Prices:good/gpt-4o-mini:Input=1", "--Sanjia:Metering:Prices:good/gpt-4o-mini:Output=2",
        "--Sanjia:Routing:Retry:MaxAttempts=1",
        $"--Sanjia:Logging:Bodies={bodies}",
        .. GatewayServer.FastRetries,
    ];

    private static async Task<int> ChatAsync(GatewayServer gw, string key, string model, string prompt)
    {
        using var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", key);
        m.Content = GatewayServer.ChatBody(model, prompt);
        using var r = await gw.Anonymous.SendAsync(m);
        return (int)r.StatusCode;
    }

    [Fact]
    public async Task Rows_of_real_requests_are_filtered_and_paged_and_carry_bodies_when_logged()
    {
        await using var good = await FakeOpenAiServer.StartAsync();
        await using var bad = await FakeOpenAiServer.StartAsync();
        bad.SetDefault(FakeBehavior.Status(500, "vendor down"));
        await using var gw = await GatewayServer.StartWithArgsAsync(Args(good, bad, bodies: true));
        var team = (await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "research" }, 201)).GetProperty("id").GetString()!;
        var (keyA, secretA) = await gw.CreateKeyAsync(new { name = "A", team_id = team });
        var (keyB, secretB) = await gw.CreateKeyAsync(new { name = "B" });
        for (var i = 0; i < 5; i++) Assert.Equal(200, await ChatAsync(gw, secretA, "chat", $"prompt A{i}"));
        for (var i = 0; i < 2; i++) Assert.Equal(200, await ChatAsync(gw, secretB, "chat", $"prompt B{i}"));
        Assert.NotEqual(200, await ChatAsync(gw, secretB, "broken", "prompt broken"));

        async Task<JsonElement> Get(string query) => await gw.AdminAsync(HttpMethod.Get, "/admin/requests" + query);
        static string[] Field(JsonElement list, string name) => [.. list.GetProperty("data").EnumerateArray().Select(r => r.GetProperty(name).ToString())];

        var all = await Get("");
        Assert.Equal(8, all.GetProperty("data").GetArrayLength());
        Assert.False(all.GetProperty("has_more").GetBoolean());
        Assert.Equal("broken", Field(all, "model")[0]); // newest first
        Assert.Equal(Enumerable.Repeat(keyA, 5), Field(await Get($"?key_id={keyA}"), "key_id"));
        Assert.Equal(5, (await Get($"?team_id={team}")).GetProperty("data").GetArrayLength());
        var failed = await Get("?status=5xx");
        var row = Assert.Single(failed.GetProperty("data").EnumerateArray());
        Assert.Equal(("bad", keyB), (row.GetProperty("provider").GetString(), row.GetProperty("key_id").GetString()));
        Assert.Equal("unpriced", row.GetProperty("cost").GetString());
        Assert.Equal(7, (await Get("?status=200&model=chat")).GetProperty("data").GetArrayLength());
        Assert.Empty((await Get($"?key_id={keyB}&model=chat&status=error")).GetProperty("data").EnumerateArray());
        var priced = (await Get($"?key_id={keyA}&limit=1")).GetProperty("data")[0];
        Assert.Equal("USD", priced.GetProperty("currency").GetString());
        Assert.True(decimal.Parse(priced.GetProperty("cost").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Empty((await Get($"?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"))}")).GetProperty("data").EnumerateArray());

        // Pages of three: 3 + 3 + 2, every request exactly once, in the order of the full list.
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Get("?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(Field(page, "request_id"));
            cursor = page.GetProperty("next_cursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next_cursor").GetString();
            Assert.Equal(cursor is not null, page.GetProperty("has_more").GetBoolean());
            pages++;
        }
        while (cursor is not null);
        Assert.Equal(3, pages);
        Assert.Equal(Field(all, "request_id"), seen);

        // Bodies: logged ones come with the rows that asked for them (the tap writes them in the background).
        JsonElement withBodies = default;
        for (var i = 0; i < 100; i++)
        {
            withBodies = await Get($"?key_id={keyA}&bodies=true");
            if (withBodies.GetProperty("data").EnumerateArray().All(r => r.GetProperty("body").ValueKind == JsonValueKind.Object)) break;
            await Task.Delay(50);
        }
        var prompts = withBodies.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("body").GetProperty("request").GetString()!).ToList();
        Assert.All(Enumerable.Range(0, 5), i => Assert.Contains(prompts, p => p.Contains($"prompt A{i}", StringComparison.Ordinal)));
        Assert.False(all.GetProperty("data")[0].TryGetProperty("body", out _)); // not asked for, not sent
    }

    [Fact]
    public async Task Without_body_logging_bodies_are_refused_and_bad_filters_are_400s_naming_the_parameter()
    {
        await using var good = await FakeOpenAiServer.StartAsync();
        await using var bad = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(Args(good, bad, bodies: false));
        Assert.Equal(200, await ChatAsync(gw, gw.Key, "chat", "hello"));
        Assert.Single((await gw.AdminAsync(HttpMethod.Get, "/admin/requests")).GetProperty("data").EnumerateArray());

        foreach (var (query, param) in new[] { ("bodies=true", "bodies"), ("bodies=yes", "bodies"), ("status=abc", "status"), ("limit=0", "limit"), ("limit=501", "limit"), ("from=yesterday", "from"), ("cursor=x", "cursor") })
        {
            using var r = await gw.Http.GetAsync("/admin/requests?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal(param, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        }
        // Asking for no bodies is fine without body logging.
        Assert.Single((await gw.AdminAsync(HttpMethod.Get, "/admin/requests?bodies=false")).GetProperty("data").EnumerateArray());
    }
}
