using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>The official Anthropic SDK against <c>/v1/messages</c>, served by an OpenAI-compatible fake vendor.</summary>
public sealed class AnthropicMessagesTests
{
    private const string WeatherTool = """{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    private static async Task<(FakeOpenAiServer Upstream, GatewayServer Gateway)> StartAsync(params string[] extra)
    {
        var upstream = await FakeOpenAiServer.StartAsync();
        var gateway = await GatewayServer.StartWithArgsAsync([.. GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey), .. extra]);
        return (upstream, gateway);
    }

    [Fact]
    public async Task Create_returns_the_vendor_answer_as_an_Anthropic_message()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        upstream.Enqueue(FakeBehavior.Reply("Bonjour tout le monde", promptTokens: 12, completionTokens: 4));

        var client = Sdk.Anthropic(gateway);
        var message = await client.Messages.Create(Sdk.Create("""
            {"model":"vendor/gpt-4o-mini","max_tokens":64,"system":"Answer in French.","messages":[{"role":"user","content":"Say hello"}]}
            """));

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Bonjour tout le monde", text!.Text);
        Assert.Equal("end_turn", message.StopReason!.Raw());
        Assert.Equal(12, message.Usage.InputTokens);
        Assert.Equal(4, message.Usage.OutputTokens);
        Assert.Equal("vendor/gpt-4o-mini", message.Model.Raw());

        using var sent = JsonDocument.Parse(upstream.Requests.Single().Body);
        var messages = sent.RootElement.GetProperty("messages");
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("Answer in French.", messages[0].GetProperty("content").GetString());
        Assert.Equal("gpt-4o-mini", sent.RootElement.GetProperty("model").GetString());
        Assert.Equal(64, sent.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task Streaming_text_arrives_through_the_SDK_in_order()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        upstream.Enqueue(FakeBehavior.Reply("one two three four five"));

        var client = Sdk.Anthropic(gateway);
        var text = new StringBuilder();
        var kinds = new List<string>();
        await foreach (var e in client.Messages.CreateStreaming(Sdk.Create("""
            {"model":"vendor/gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Count"}]}
            """)))
        {
            kinds.Add(Kind(e));
            if (e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickText(out var t)) text.Append(t!.Text);
        }

        Assert.Equal("one two three four five", text.ToString());
        Assert.Equal("start", kinds[0]);
        Assert.Equal("block_start", kinds[1]);
        Assert.Equal(["block_stop", "delta", "stop"], kinds[^3..]);
    }

    [Fact]
    public async Task Streaming_tool_call_split_in_pieces_arrives_whole_and_the_result_goes_back_as_a_tool_message()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        const string args = """{"city":"Paris","unit":"celsius"}""";
        upstream.Enqueue(new FakeBehavior { Tool = new FakeToolCall("get_weather", args, Pieces: 7) }, FakeBehavior.Reply("It is sunny."));

        var client = Sdk.Anthropic(gateway);
        var json = new StringBuilder();
        string? toolId = null, toolName = null;
        string? stopReason = null;
        await foreach (var e in client.Messages.CreateStreaming(Sdk.Create($$"""
            {"model":"vendor/gpt-4o","max_tokens":128,"tools":[{{WeatherTool}}],"tool_choice":{"type":"auto"},"messages":[{"role":"user","content":"Weather in Paris?"}]}
            """)))
        {
            if (e.TryPickContentBlockStart(out var s) && s!.ContentBlock.TryPickToolUse(out var tu)) { toolId = tu!.ID; toolName = tu.Name; }
            if (e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickInputJson(out var ij)) json.Append(ij!.PartialJson);
            if (e.TryPickDelta(out var md)) stopReason = md!.Delta.StopReason?.Raw();
        }
        Assert.Equal(args, json.ToString());
        Assert.Equal("get_weather", toolName);
        Assert.NotNull(toolId);
        Assert.Equal("tool_use", stopReason);

        // Turn 2: the SDK user sends the tool result back.
        var reply = await client.Messages.Create(Sdk.Create($$"""
            {"model":"vendor/gpt-4o","max_tokens":128,"tools":[{{WeatherTool}}],"messages":[
              {"role":"user","content":"Weather in Paris?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"{{toolId}}","name":"get_weather","input":{{args}}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"{{toolId}}","content":"22 degrees, sunny"}]}]}
            """));
        Assert.True(reply.Content[0].TryPickText(out var text));
        Assert.Equal("It is sunny.", text!.Text);

        using var sent = JsonDocument.Parse(upstream.Requests[1].Body);
        var messages = sent.RootElement.GetProperty("messages");
        Assert.Equal(3, messages.GetArrayLength());
        var call = messages[1].GetProperty("tool_calls")[0];
        Assert.Equal(toolId, call.GetProperty("id").GetString());
        Assert.Equal(args, call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool", messages[2].GetProperty("role").GetString());
        Assert.Equal(toolId, messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("22 degrees, sunny", messages[2].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Raw_stream_has_Anthropics_exact_event_sequence_for_a_tool_call()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        upstream.Enqueue(new FakeBehavior { Tool = new FakeToolCall("get_weather", """{"city":"Oslo"}""", Pieces: 3) });

        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", Json($$"""
            {"model":"vendor/gpt-4o","max_tokens":64,"stream":true,"tools":[{{WeatherTool}}],"messages":[{"role":"user","content":"Oslo?"}]}
            """));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = Sse.ParseEvents(await response.Content.ReadAsStringAsync());

        Assert.Equal(
            ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Event).ToArray());
        foreach (var (name, data) in events)
        {
            using var doc = JsonDocument.Parse(data);
            Assert.Equal(name, doc.RootElement.GetProperty("type").GetString());
        }

        // message_start's early input-token figure counts the tool definitions, as count_tokens does.
        using var start = JsonDocument.Parse(events[0].Data);
        var early = start.RootElement.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt32();
        using var counted = await http.PostAsync("v1/messages/count_tokens", Json($$"""
            {"model":"vendor/gpt-4o","tools":[{{WeatherTool}}],"messages":[{"role":"user","content":"Oslo?"}]}
            """));
        using var count = JsonDocument.Parse(await counted.Content.ReadAsStringAsync());
        Assert.Equal(count.RootElement.GetProperty("input_tokens").GetInt32(), early);
        using var withoutTools = await http.PostAsync("v1/messages/count_tokens", Json("""
            {"model":"vendor/gpt-4o","messages":[{"role":"user","content":"Oslo?"}]}
            """));
        Assert.True(early > JsonDocument.Parse(await withoutTools.Content.ReadAsStringAsync()).RootElement.GetProperty("input_tokens").GetInt32());
    }

    [Fact]
    public async Task Upstream_failure_mid_stream_becomes_an_error_event_not_a_clean_end()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        upstream.Enqueue(FakeBehavior.DropAfterChunks(2) with { ChunkCount = 6 });

        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", Json("""
            {"model":"vendor/gpt-4o","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Go"}]}
            """));
        var events = Sse.ParseEvents(await response.Content.ReadAsStringAsync());

        Assert.Equal("error", events[^1].Event);
        Assert.DoesNotContain(events, e => e.Event == "message_stop");
        using var error = JsonDocument.Parse(events[^1].Data);
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal("api_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());

        // The SDK surfaces it as an exception, not as a finished message.
        upstream.Enqueue(FakeBehavior.DropAfterChunks(2) with { ChunkCount = 6 });
        var client = Sdk.Anthropic(gateway);
        await Assert.ThrowsAnyAsync<AnthropicException>(async () =>
        {
            await foreach (var e in client.Messages.CreateStreaming(Sdk.Create("""
                {"model":"vendor/gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"Go"}]}
                """)))
            {
            }
        });
    }

    [Theory]
    [InlineData("""{"model":"vendor/gpt-4o","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "max_tokens")]
    [InlineData("""{"model":"nobody/none","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", 404, "not_found_error", "nobody/none")]
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}""", 400, "invalid_request_error", "messages.0.role")]
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":5,"mcp_servers":[],"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "mcp_servers")]
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "web_search_20250305")]
    [InlineData("""{not json""", 400, "invalid_request_error", "valid")]
    // Once sent on as an empty text (Anthropic's own API refuses it).
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text"}]}]}""", 400, "invalid_request_error", "messages.0.content.0.text: Field required")]
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":5,"system":[{"type":"text"}],"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "system.0.text: Field required")]
    // Extended thinking as Anthropic's API checks it; a missing budget was sent on.
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":2048,"thinking":{"type":"enabled"},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "thinking.enabled.budget_tokens: Field required")]
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1023},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")]
    [InlineData("""{"model":"vendor/gpt-4o","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "`max_tokens` must be greater than `thinking.budget_tokens`")]
    public async Task Bad_requests_get_Anthropic_shaped_errors(string body, int status, string type, string mentions)
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal(type, doc.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(mentions, doc.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Missing_key_and_upstream_failures_are_Anthropic_errors_too()
    {
        // One attempt, so the scripted failure reaches the caller instead of being retried away.
        var (upstream, gateway) = await StartAsync("--Sanjia:Routing:Retry:MaxAttempts=1");
        await using var _ = upstream;
        await using var __ = gateway;
        using (var anonymous = gateway.CreateHttpClient(withKey: false))
        using (var response = await anonymous.PostAsync("v1/messages", Json("""{"model":"vendor/x","max_tokens":5,"messages":[]}""")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("authentication_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
        }

        upstream.Enqueue(FakeBehavior.Status(500, "boom"));
        var client = Sdk.Anthropic(gateway);
        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(Sdk.Create("""
            {"model":"vendor/gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}
            """)));
        Assert.Contains("boom", ex.Message);
    }

    [Fact]
    public async Task Count_tokens_grows_with_the_prompt_and_the_tools()
    {
        var (upstream, gateway) = await StartAsync();
        await using var _ = upstream;
        await using var __ = gateway;
        var client = Sdk.Anthropic(gateway);

        var small = await client.Messages.CountTokens(Sdk.Count("""{"model":"vendor/gpt-4o","messages":[{"role":"user","content":"hi"}]}"""));
        var large = await client.Messages.CountTokens(Sdk.Count($$"""
            {"model":"vendor/gpt-4o","system":"You are a meteorologist who answers precisely.","tools":[{{WeatherTool}}],"messages":[{"role":"user","content":"hi, what is the weather like in Paris today?"}]}
            """));

        Assert.InRange(small.InputTokens, 1, 50);
        Assert.True(large.InputTokens > small.InputTokens + 20, $"{large.InputTokens} vs {small.InputTokens}");
        Assert.Empty(upstream.Requests);
    }

    internal static string Kind(RawMessageStreamEvent e) =>
        e.TryPickStart(out _) ? "start"
        : e.TryPickContentBlockStart(out _) ? "block_start"
        : e.TryPickContentBlockDelta(out _) ? "block_delta"
        : e.TryPickContentBlockStop(out _) ? "block_stop"
        : e.TryPickDelta(out _) ? "delta"
        : e.TryPickStop(out _) ? "stop"
        : "other";

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
