using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.Admin;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Metering;

public sealed class AdminAuthorizationTests
{
    [Fact]
    public async Task Every_admin_route_is_open_to_the_master_key_only()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        var team = await gw.AdminAsync(HttpMethod.Post, "/admin/teams", new { name = "a-team" }, 201);
        var (keyA, secretA) = await gw.CreateKeyAsync(new { name = "A", team_id = team.GetProperty("id").GetString() });
        var (keyB, _) = await gw.CreateKeyAsync(new { name = "B" });
        var teamId = team.GetProperty("id").GetString()!;

        foreach (var (method, template) in AdminEndpoints.Routes)
        {
            // Key A aims at key B's objects (and its own team): it must get nothing.
            var path = template.Replace("{id}", template.StartsWith("/admin/keys", StringComparison.Ordinal) ? keyB : teamId, StringComparison.Ordinal);
            object? body = method is "POST" or "PATCH" ? new { name = "changed" } : null;

            using var none = await gw.Anonymous.SendAsync(gw.Request(new HttpMethod(method), path, null, body));
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);

            using var virtualKey = await gw.Anonymous.SendAsync(gw.Request(new HttpMethod(method), path, secretA, body));
            Assert.Equal(HttpStatusCode.Forbidden, virtualKey.StatusCode);
            var error = JsonDocument.Parse(await virtualKey.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("admin_only", error.GetProperty("code").GetString());

            using var bogus = await gw.Anonymous.SendAsync(gw.Request(new HttpMethod(method), path, "sk-sj-not-a-real-key", body));
            Assert.Equal(HttpStatusCode.Unauthorized, bogus.StatusCode);

            if (method != "DELETE")
            {
                using var master = await gw.Anonymous.SendAsync(gw.Request(new HttpMethod(method), path, GatewayServer.MasterKey, body));
                Assert.True(master.IsSuccessStatusCode, $"{method} {path} with the master key: {(int)master.StatusCode} {await master.Content.ReadAsStringAsync()}");
            }
        }

        // Key A is untouched by everything key A tried, and key B's name changed only through the master key.
        var a = await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyA}");
        Assert.Equal("A", a.GetProperty("name").GetString());
        Assert.False(a.TryGetProperty("key", out _)); // the secret is shown once, at creation
        var b = await gw.AdminAsync(HttpMethod.Get, $"/admin/keys/{keyB}");
        Assert.Equal("changed", b.GetProperty("name").GetString());

        // Revocation is immediate on this instance.
        using (var before = await gw.Anonymous.SendAsync(Chat(gw, secretA)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        await gw.AdminAsync(HttpMethod.Delete, $"/admin/keys/{keyA}");
        using var after = await gw.Anonymous.SendAsync(Chat(gw, secretA));
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    private static HttpRequestMessage Chat(GatewayServer gw, string key)
    {
        var m = gw.Request(HttpMethod.Post, "/v1/chat/completions", key);
        m.Content = MeteringSetup.ChatBody();
        return m;
    }

    [Theory]
    [InlineData("sk-1234567890abcdef")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task The_admin_api_refuses_a_default_master_key(string weak)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithMasterKeyAsync(weak, MeteringSetup.Settings(upstream));
        using var response = await gw.Anonymous.SendAsync(gw.Request(HttpMethod.Get, "/admin/keys", weak));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("weak_master_key", error.GetProperty("code").GetString());
        Assert.Contains("Sanjia:MasterKey", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Bad_admin_input_gets_a_400_naming_the_field()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        foreach (var (body, param) in new (object, string)[]
        {
            (new { budget = new { amount = 5, currency = "US Dollar" } }, "budget.currency"),
            (new { budget = new { amount = 5, currency = "USD", period = "hourly" } }, "budget.period"),
            (new { rpm_limit = -1 }, "rpm_limit"),
            (new { team_id = "team_missing" }, "team_id"),
            (new { allowed_models = "chat" }, "allowed_models"),
        })
        {
            var e = await gw.AdminAsync(HttpMethod.Post, "/admin/keys", body, 400);
            Assert.Equal(param, e.GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Bad_spend_report_parameters_are_400s_naming_each_one()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        // 'to' was blamed on 'from', and an unknown format answered JSON as if it had been asked for.
        foreach (var (query, param) in new[] { ("from=yesterday", "from"), ("to=notatime", "to"), ("format=xml", "format"), ("group_by=hour", "group_by") })
        {
            var e = await gw.AdminAsync(HttpMethod.Get, "/admin/spend?" + query, expect: 400);
            Assert.True(param == e.GetProperty("error").GetProperty("param").GetString(), $"{query}: {e}");
        }
        using var csv = await gw.Http.GetAsync("/admin/spend?format=CSV");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Equal("spend_report", (await gw.AdminAsync(HttpMethod.Get, "/admin/spend?format=json")).GetProperty("object").GetString());
    }

    [Fact]
    public async Task A_budget_with_a_misspelt_field_a_huge_amount_or_a_loose_period_is_refused_naming_it_and_nothing_is_created()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gw = await GatewayServer.StartWithArgsAsync(MeteringSetup.Settings(upstream));
        foreach (var (budget, param, code) in new[]
        {
            // Once a 500 (the number does not fit a decimal), or accepted and then breaking every budget alert check.
            ("""{"amount":1e400,"currency":"USD"}""", "budget.amount", "invalid_request"),
            ("""{"amount":792281625142643375935439503350,"currency":"USD"}""", "budget.amount", "invalid_request"),
            ("""{"amount":79228162514264337593543950335,"currency":"USD"}""", "budget.amount", "invalid_request"),
            // Once accepted as a total budget: the daily limit the caller meant was silently dropped.
            ("""{"amount":5,"currency":"USD","perod":"daily"}""", "budget.perod", "unknown_fields"),
            ("""{"amount":5,"currency":"USD","period":7}""", "budget.period", "invalid_request"),
            // Once accepted: Enum.TryParse reads a comma list as flags ("daily,weekly" became weekly).
            ("""{"amount":5,"currency":"USD","period":"daily,weekly"}""", "budget.period", "invalid_request"),
            ("""{"amount":5,"currency":"123"}""", "budget.currency", "invalid_request"),
        })
        {
            foreach (var path in new[] { "/admin/keys", "/admin/teams" })
            {
                var e = await gw.AdminAsync(HttpMethod.Post, path, JsonNode.Parse($$"""{"name":"b","budget":{{budget}}}"""), 400);
                var error = e.GetProperty("error");
                Assert.True(param == error.GetProperty("param").GetString(), $"{path} {budget}: {e}");
                Assert.Equal(code, error.GetProperty("code").GetString());
                Assert.Contains($"'{param}'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            }
        }
        Assert.Empty((await gw.AdminAsync(HttpMethod.Get, "/admin/keys")).GetProperty("data").EnumerateArray());
        Assert.Empty((await gw.AdminAsync(HttpMethod.Get, "/admin/teams")).GetProperty("data").EnumerateArray());

        var largest = await gw.AdminAsync(HttpMethod.Post, "/admin/teams", JsonNode.Parse("""{"budget":{"amount":"1000000000000000","currency":"idr","period":"Monthly"}}"""), 201);
        Assert.Equal("1000000000000000", largest.GetProperty("budget").GetProperty("amount").GetString());
        Assert.Equal(("IDR", "monthly"), (largest.GetProperty("budget").GetProperty("currency").GetString(), largest.GetProperty("budget").GetProperty("period").GetString()));
    }
}
