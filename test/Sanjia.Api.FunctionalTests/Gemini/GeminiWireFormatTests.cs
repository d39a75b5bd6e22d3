using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeGemini;

namespace Sanjia.Api.FunctionalTests.Gemini;

/// <summary>
/// The Gemini adapter against the fake that follows Google's documentation (see docs/protocols.md, "Wire format
/// sources"): one test per documented rule the adapter once got wrong.
/// </summary>
public sealed class GeminiWireFormatTests
{
    internal static IEnumerable<KeyValuePair<string, string>> Provider(FakeGeminiServer fake) =>
    [
        new("Providers:gem:Type", "gemini"),
        new("Providers:gem:BaseUrl", fake.BaseUrl),
        new("Providers:gem:ApiKey", fake.ApiKey),
    ];

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Tool_history_from_another_model_reaches_Gemini_3_with_the_documented_placeholder_signature()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(Provider(fake));
        fake.Enqueue(new FakeGeminiReply { Text = "It is 21 degrees." });

        // An assistant turn produced by another vendor: its tool call ids carry no Gemini thought signature.
        const string body = """
            {"model":"gem/gemini-3-pro-preview","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "messages":[{"role":"user","content":"Weather in Paris?"},
                         {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
                         {"role":"tool","tool_call_id":"toolu_01A","content":"{\"celsius\":21}"}]}
            """;
        using var response = await gateway.Http.PostAsync("/v1/chat/completions", Json(body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("It is 21 degrees.", (string?)JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]);
        var sent = fake.Requests.Single();
        Assert.True(sent.Status == 200, sent.Error);
        var call = JsonNode.Parse(sent.Body)!["contents"]![1]!["parts"]![0]!;
        Assert.Equal("get_weather", (string?)call["functionCall"]!["name"]);
        Assert.Equal("skip_thought_signature_validator", (string?)call["thoughtSignature"]);
    }

    [Fact]
    public async Task A_rejected_gateway_key_is_a_502_upstream_authentication_failure_not_the_callers_400()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(
            [new("Providers:gem:Type", "gemini"), new("Providers:gem:BaseUrl", fake.BaseUrl), new("Providers:gem:ApiKey", "AIza-wrong-key")]);

        using var response = await gateway.Http.PostAsync("/v1/chat/completions",
            Json("""{"model":"gem/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}"""));
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_authentication_failed", (string?)error["code"]);
        var sent = fake.Requests.Single();
        Assert.Equal(400, sent.Status); // Google answers a bad key with 400 INVALID_ARGUMENT + ErrorInfo API_KEY_INVALID
    }

    [Fact]
    public async Task Safety_settings_given_as_an_extension_field_reach_Gemini_from_Chat_and_Responses()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(Provider(fake));
        const string safety = """[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","threshold":"BLOCK_ONLY_HIGH"},{"category":"HARM_CATEGORY_HARASSMENT","threshold":"OFF"}]""";

        using var chat = await gateway.Http.PostAsync("/v1/chat/completions",
            Json($$"""{"model":"gem/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"safety_settings":{{safety}}}"""));
        using var responses = await gateway.Http.PostAsync("/v1/responses",
            Json($$"""{"model":"gem/gemini-2.5-flash","input":"hi","safety_settings":{{safety}}}"""));

        Assert.True(chat.StatusCode == HttpStatusCode.OK, await chat.Content.ReadAsStringAsync());
        Assert.True(responses.StatusCode == HttpStatusCode.OK, await responses.Content.ReadAsStringAsync());
        Assert.Equal(2, fake.Requests.Count);
        foreach (var sent in fake.Requests)
        {
            Assert.True(sent.Status == 200, sent.Error);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(safety), JsonNode.Parse(sent.Body)!["safetySettings"]), sent.Body);
        }
    }

    [Fact]
    public async Task A_safety_category_Gemini_does_not_know_comes_back_as_Geminis_400()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(Provider(fake));

        using var response = await gateway.Http.PostAsync("/v1/chat/completions", Json(
            """{"model":"gem/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"safety_settings":[{"category":"HARM_CATEGORY_MADE_UP","threshold":"BLOCK_NONE"}]}"""));
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HARM_CATEGORY_MADE_UP", (string?)error["message"]);
    }

    [Fact]
    public async Task Malformed_safety_settings_are_refused_before_any_upstream_call()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(Provider(fake));

        using var response = await gateway.Http.PostAsync("/v1/chat/completions", Json(
            """{"model":"gem/gemini-2.5-flash","messages":[{"role":"user","content":"hi"}],"safety_settings":"BLOCK_NONE"}"""));
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("safety_settings", (string?)error["param"]);
        Assert.Empty(fake.Requests);
    }
}
