using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>Chat Completions through the real gateway to a fake OpenAI-compatible vendor, driven by the official SDK.</summary>
public sealed class ChatCompletionsTests : GatewayWithUpstream
{
    protected override IEnumerable<KeyValuePair<string, string>> Settings(FakeOpenAiServer upstream) =>
    [
        .. GatewayServer.Upstream(upstream),
        new("Models:chat-default:Deployments:0:Provider", "fake"),
        new("Models:chat-default:Deployments:0:Model", "gpt-4o"),
    ];

    [Fact]
    public async Task The_sdk_gets_a_completion_from_an_alias()
    {
        var chat = Gateway.OpenAi().GetChatClient("chat-default");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from gpt-4o", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        var sent = Assert.Single(Upstream.Requests);
        Assert.Equal("gpt-4o", JsonDocument.Parse(sent.Body).RootElement.GetProperty("model").GetString());
        Assert.Equal($"Bearer {Upstream.ApiKey}", sent.Headers["Authorization"]);
    }

    [Fact]
    public async Task The_sdk_streams_a_completion_with_usage()
    {
        var chat = Gateway.OpenAi().GetChatClient("fake/gpt-4o-mini");
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Hello from gpt-4o-mini", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.True(usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Every_byte_theGateway_answers_is_valid_against_the_openai_spec()
    {
        var body = """{"model":"chat-default","messages":[{"role":"user","content":"hi there"}]}""";
        using var json = await Gateway.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        OpenApiSpec.AssertValid("CreateChatCompletionResponse", await json.Content.ReadAsStringAsync());

        var streamBody = """{"model":"chat-default","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi there"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(streamBody, Encoding.UTF8, "application/json") };
        using var stream = await Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        var events = await Sse.ReadDataAsync(stream);
        Assert.Equal("[DONE]", events[^1]);
        Assert.True(events.Count >= 4);
        foreach (var e in events[..^1])
        {
            OpenApiSpec.AssertValid("CreateChatCompletionStreamResponse", e);
        }
        using var last = JsonDocument.Parse(events[^2]);
        Assert.Equal(0, last.RootElement.GetProperty("choices").GetArrayLength());
        Assert.True(last.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Unknown_fields_reach_theUpstream_byte_for_byte_with_only_the_model_rewritten()
    {
        // Odd spacing, key order, escapes, number formats and vendor fields: all must survive untouched.
        var body = "{ \"temperature\" : 0.70, \"model\":\"chat-default\",\n \"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 \\\"quoted\\\"\",\"name\":\"u1\"}],"
            + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":\"auto\","
            + "\"response_format\":{\"type\":\"json_object\"},\"seed\":42,\"n\":1,\"stop\":[\"END\"],\"user\":\"u-1\",\"metadata\":{\"k\":\"v\"},"
            + "\"max_completion_tokens\":64,\"top_p\":1e0,\"x_vendor_extension\":{\"enable_thinking\":false,\"list\":[1,2.50,null,true]} }";

        using var response = await Gateway.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(Upstream.Requests);
        Assert.Equal(body.Replace("\"model\":\"chat-default\"", "\"model\":\"gpt-4o\""), sent.BodyText);
    }

    [Fact]
    public async Task Streams_without_usage_requested_still_get_metered_and_the_caller_sees_no_usage_chunk()
    {
        var body = """{"model":"chat-default","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadDataAsync(response);

        Assert.All(events[..^1], e => Assert.NotEqual(0, JsonDocument.Parse(e).RootElement.GetProperty("choices").GetArrayLength()));
        // The gateway asked the vendor for usage on the caller's behalf, so the ledger has exact counts.
        Assert.Contains("\"stream_options\":{\"include_usage\":true}", Assert.Single(Upstream.Requests).BodyText);
        var entry = Assert.Single(await Gateway.LedgerAsync());
        Assert.False(entry.Usage.Estimated);
        Assert.True(entry.Usage.Output > 0);
        Assert.Equal(200, entry.Status);
        Assert.Equal(response.Headers.GetValues("x-request-id").Single(), entry.RequestId);
    }

    [Fact]
    public async Task When_the_vendor_reports_no_usage_theGateway_counts_and_marks_it_estimated()
    {
        Upstream.Enqueue(FakeBehavior.NoUsage());
        var body = """{"model":"chat-default","stream":true,"messages":[{"role":"user","content":"count these words please"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await Gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await Sse.ReadDataAsync(response);

        var entry = Assert.Single(await Gateway.LedgerAsync());
        Assert.True(entry.Usage.Estimated);
        Assert.True(entry.Usage.Input >= 4);
        Assert.True(entry.Usage.Output >= 3); // "Hello from gpt-4o"
    }

    [Fact]
    public async Task Each_response_carries_a_request_id_and_the_deployment_used()
    {
        using var response = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "chat-default", messages = new[] { new { role = "user", content = "x" } } });
        var id = response.Headers.GetValues("x-request-id").Single();
        Assert.StartsWith("req_", id, StringComparison.Ordinal);
        Assert.Equal("fake/gpt-4o", response.Headers.GetValues("x-sanjia-deployment").Single());
        using var other = await Gateway.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "chat-default", messages = new[] { new { role = "user", content = "x" } } });
        var second = other.Headers.GetValues("x-request-id").Single();
        Assert.NotEqual(id, second);
        // UUIDv7 layout: version 7, the RFC variant, and ids that sort by the time they were issued.
        var guid = Guid.ParseExact(id[4..], "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0x8, guid.Variant & 0xC);
        Assert.True(string.CompareOrdinal(id[4..16], second[4..16]) <= 0, $"{id} then {second}");
        var issued = DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(id[4..16], 16));
        Assert.InRange(issued, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
    }
}
