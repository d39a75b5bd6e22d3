using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Responses;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeAnthropic;
using Sanjia.Testing.FakeUpstream;
using Sanjia.Testing.OpenApi;

// The Responses client is marked experimental in the OpenAI SDK; these tests exercise exactly that client.
#pragma warning disable OPENAI001

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>The official OpenAI SDK's Responses client against <c>/v1/responses</c>, on an OpenAI-compatible and an Anthropic backend.</summary>
public sealed class ResponsesApiTests
{
    private static ResponsesClient Client(GatewayServer gateway) =>
        new(new ApiKeyCredential(GatewayServer.MasterKey), new ResponsesClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") });

    private static string[] AnthropicProvider(FakeAnthropicServer fake) => GatewayServer.Provider("claude", fake.BaseUrl, fake.ApiKey, type: "anthropic");

    private static ResponseTool WeatherTool() => ResponseTool.CreateFunctionTool("get_weather",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), strictModeEnabled: false, functionDescription: "Weather for a city");

    [Fact]
    public async Task Text_answer_from_an_OpenAI_compatible_vendor_comes_back_as_a_response_object()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        upstream.Enqueue(FakeBehavior.Reply("Bonjour tout le monde", promptTokens: 12, completionTokens: 4));

        var options = new CreateResponseOptions
        {
            Model = "vendor/gpt-4o-mini",
            Instructions = "Answer in French.",
            MaxOutputTokenCount = 64,
            Temperature = 0.3f,
            InputItems = { ResponseItem.CreateUserMessageItem("Say hello") },
        };
        ResponseResult response = await Client(gateway).CreateResponseAsync(options);

        Assert.Equal("Bonjour tout le monde", response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal(12, response.Usage.InputTokenCount);
        Assert.Equal(4, response.Usage.OutputTokenCount);
        Assert.Equal("vendor/gpt-4o-mini", response.Model);
        Assert.StartsWith("resp_", response.Id);

        using var sent = JsonDocument.Parse(upstream.Requests.Single().Body);
        var root = sent.RootElement;
        Assert.Equal("gpt-4o-mini", root.GetProperty("model").GetString());
        Assert.Equal("system", root.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("Answer in French.", root.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(64, root.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task Raw_JSON_response_matches_OpenAIs_schema()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        upstream.Enqueue(FakeBehavior.Reply("fine"));
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/responses", AnthropicMessagesTests.Json("""{"model":"vendor/m","input":"hi","text":{"format":{"type":"json_object"}}}"""));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        OpenApiSpec.AssertValid("Response", text);
        Assert.Equal("json_object", JsonDocument.Parse(upstream.Requests.Single().Body).RootElement.GetProperty("response_format").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Streaming_text_arrives_as_typed_events_in_order_through_the_SDK()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        upstream.Enqueue(FakeBehavior.Reply("one two three four five"));

        var text = new StringBuilder();
        var kinds = new List<string>();
        var sequence = new List<int>();
        ResponseResult? completed = null;
        var options = new CreateResponseOptions { Model = "vendor/m", StreamingEnabled = true, InputItems = { ResponseItem.CreateUserMessageItem("count") } };
        await foreach (var update in await Client(gateway).CreateResponseStreamingAsync(options))
        {
            kinds.Add(update.GetType().Name);
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta) text.Append(delta.Delta);
            if (update is StreamingResponseCompletedUpdate done) completed = done.Response;
        }

        Assert.Equal("one two three four five", text.ToString());
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal("StreamingResponseCreatedUpdate", kinds[0]);
        Assert.Equal("StreamingResponseInProgressUpdate", kinds[1]);
        Assert.Equal("StreamingResponseCompletedUpdate", kinds[^1]);
        Assert.True(kinds.Count(k => k == "StreamingResponseOutputTextDeltaUpdate") >= 2);
        Assert.NotNull(completed);
        Assert.Equal("one two three four five", completed.GetOutputText());
        Assert.True(completed.Usage.InputTokenCount > 0);
        // The gateway asked the vendor for usage itself.
        Assert.True(JsonDocument.Parse(upstream.Requests.Single().Body).RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task Every_raw_stream_event_matches_its_schema()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        upstream.Enqueue(FakeBehavior.ToolCall("get_weather", """{"city":"Paris"}""", pieces: 5));
        using var http = gateway.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = AnthropicMessagesTests.Json("""{"model":"vendor/m","stream":true,"input":"weather?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}"""),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadDataAsync(response);
        var types = new List<string>();
        foreach (var data in events)
        {
            var type = JsonDocument.Parse(data).RootElement.GetProperty("type").GetString()!;
            types.Add(type);
            OpenApiSpec.AssertValid(ResponsesEventSchemas.For(type), data);
        }
        Assert.Equal(5, types.Count(t => t == "response.function_call_arguments.delta"));
        Assert.Equal("response.completed", types[^1]);
        var done = JsonNode.Parse(events.Single(e => e.Contains("\"response.function_call_arguments.done\"")))!;
        Assert.Equal("""{"city":"Paris"}""", (string?)done["arguments"]);
    }

    [Fact]
    public async Task Function_call_round_trip_through_the_SDK()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        upstream.Enqueue(FakeBehavior.ToolCall("get_weather", """{"city":"Paris"}""", pieces: 3), FakeBehavior.Reply("Sunny in Paris"));
        var client = Client(gateway);

        var first = new CreateResponseOptions { Model = "vendor/m", Tools = { WeatherTool() }, InputItems = { ResponseItem.CreateUserMessageItem("Weather in Paris?") } };
        ResponseResult turn1 = await client.CreateResponseAsync(first);
        var call = Assert.IsType<FunctionCallResponseItem>(turn1.OutputItems.Single(i => i is FunctionCallResponseItem));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());

        var second = new CreateResponseOptions { Model = "vendor/m", Tools = { WeatherTool() } };
        second.InputItems.Add(ResponseItem.CreateUserMessageItem("Weather in Paris?"));
        foreach (var item in turn1.OutputItems) second.InputItems.Add(item);
        second.InputItems.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny, 24 C"));
        ResponseResult turn2 = await client.CreateResponseAsync(second);
        Assert.Equal("Sunny in Paris", turn2.GetOutputText());

        using var sent = JsonDocument.Parse(upstream.Requests[1].Body);
        var messages = sent.RootElement.GetProperty("messages");
        Assert.Equal(["user", "assistant", "tool"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(call.CallId, messages[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal(call.CallId, messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("sunny, 24 C", messages[2].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Anthropic_backend_with_thinking_and_a_streamed_tool_call_then_the_conversation_continues_there()
    {
        await using var fake = await FakeAnthropicServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(AnthropicProvider(fake));
        fake.Enqueue(new FakeAnthropicReply { Thinking = "The user wants weather.", Text = "Let me check.", ToolUse = ("get_weather", """{"city":"Paris"}"""), ToolPieces = 4 },
                     new FakeAnthropicReply { Text = "Sunny." });
        var client = Client(gateway);

        var first = new CreateResponseOptions
        {
            Model = "claude/claude-sonnet-4-5",
            StreamingEnabled = true,
            MaxOutputTokenCount = 4096,
            Tools = { WeatherTool() },
            InputItems = { ResponseItem.CreateUserMessageItem("Weather in Paris?") },
            ReasoningOptions = new ResponseReasoningOptions { ReasoningEffortLevel = ResponseReasoningEffortLevel.Medium },
        };
        ResponseResult? turn1 = null;
        var argumentDeltas = 0;
        await foreach (var update in await client.CreateResponseStreamingAsync(first))
        {
            if (update is StreamingResponseFunctionCallArgumentsDeltaUpdate) argumentDeltas++;
            if (update is StreamingResponseCompletedUpdate done) turn1 = done.Response;
        }
        Assert.NotNull(turn1);
        Assert.True(argumentDeltas >= 2, $"arguments arrived in {argumentDeltas} pieces");
        Assert.IsType<ReasoningResponseItem>(turn1.OutputItems[0]);
        Assert.Equal("Let me check.", turn1.GetOutputText());
        var call = turn1.OutputItems.OfType<FunctionCallResponseItem>().Single();
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());

        var second = new CreateResponseOptions { Model = "claude/claude-sonnet-4-5", MaxOutputTokenCount = 4096, Tools = { WeatherTool() },
            ReasoningOptions = new ResponseReasoningOptions { ReasoningEffortLevel = ResponseReasoningEffortLevel.Medium } };
        second.InputItems.Add(ResponseItem.CreateUserMessageItem("Weather in Paris?"));
        foreach (var item in turn1.OutputItems) second.InputItems.Add(item);
        second.InputItems.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny"));
        ResponseResult turn2 = await client.CreateResponseAsync(second);
        Assert.Equal("Sunny.", turn2.GetOutputText());

        // The fake verifies the thinking signature it issued: the block came back whole through encrypted_content.
        var requests = fake.Requests;
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1].Status == 200, requests[1].Error);
        var assistant = JsonNode.Parse(requests[1].Body)!["messages"]![1]!["content"]!.AsArray();
        Assert.Equal("thinking", (string?)assistant[0]!["type"]);
        Assert.Equal("The user wants weather.", (string?)assistant[0]!["thinking"]);
    }

    [Theory]
    [InlineData("""{"model":"vendor/m","input":"x","store":true}""", "store")]
    [InlineData("""{"model":"vendor/m","input":"x","previous_response_id":"resp_1"}""", "previous_response_id")]
    [InlineData("""{"model":"vendor/m","input":"x","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    public async Task Requests_needing_state_or_built_in_tools_get_an_OpenAI_error_naming_the_parameter(string body, string param)
    {
        var error = await RefusedAsync(body);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
    }

    /// <summary>The body sent to <c>/v1/responses</c>: a 400 with nothing sent to the vendor; its <c>error</c> object.</summary>
    private static async Task<JsonNode> RefusedAsync(string body)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/responses", AnthropicMessagesTests.Json(body));
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Empty(upstream.Requests);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
    }

    [Theory]
    [InlineData("""{"model":"vendor/m"}""", "missing_required_parameter")]
    [InlineData("""{"model":"vendor/m","input":null}""", "missing_required_parameter")]
    // Once "Missing required parameter" for an input that was there, and 'messages' (a Chat Completions field) for an empty one.
    [InlineData("""{"model":"vendor/m","input":5}""", "invalid_type")]
    [InlineData("""{"model":"vendor/m","input":[]}""", "invalid_value")]
    public async Task A_missing_or_malformed_input_is_a_400_naming_input(string body, string code)
    {
        var error = await RefusedAsync(body);
        Assert.Equal(("input", code), ((string?)error["param"], (string?)error["code"]));
    }

    [Fact]
    public async Task Missing_key_and_unknown_model_are_OpenAI_shaped_errors()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        using var anonymous = gateway.CreateHttpClient(withKey: false);
        using (var response = await anonymous.PostAsync("v1/responses", AnthropicMessagesTests.Json("""{"model":"vendor/m","input":"x"}""")))
        {
            Assert.Equal(401, (int)response.StatusCode);
            Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]);
        }
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Client(gateway).CreateResponseAsync(
            new CreateResponseOptions { Model = "nobody/m", InputItems = { ResponseItem.CreateUserMessageItem("x") } }));
        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task Upstream_failure_mid_stream_ends_with_response_failed_not_completed()
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        upstream.Enqueue(FakeBehavior.MalformedAfterChunks(2) with { ChunkCount = 6 });
        using var http = gateway.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = AnthropicMessagesTests.Json("""{"model":"vendor/m","stream":true,"input":"x"}"""),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadDataAsync(response);
        var types = events.Select(e => JsonDocument.Parse(e).RootElement.GetProperty("type").GetString()).ToList();
        Assert.Contains("response.output_text.delta", types);
        Assert.Equal("response.failed", types[^1]);
        Assert.DoesNotContain("response.completed", types);
        OpenApiSpec.AssertValid("ResponseFailedEvent", events[^1]);
    }
}
