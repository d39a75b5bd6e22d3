using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeGemini;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.Gemini;

/// <summary>OpenAI Responses clients (<c>/v1/responses</c>) reaching a Gemini backend: the success path, text and a function call.</summary>
public sealed class GeminiResponsesApiTests
{
    private const string WeatherTool = """{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    [Fact]
    public async Task Text_and_a_function_call_come_back_as_Responses_output_items_and_the_result_goes_back_signed()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(GeminiWireFormatTests.Provider(fake));
        fake.Enqueue(
            new FakeGeminiReply { Text = "Let me check.", FunctionCalls = [("get_weather", """{"city":"Paris"}""")], PromptTokens = 12, OutputTokens = 7 },
            new FakeGeminiReply { Text = "Sunny in Paris." });

        using var first = await gateway.Http.PostAsync("/v1/responses", GeminiWireFormatTests.Json(
            $$"""{"model":"gem/gemini-3-pro-preview","instructions":"Be brief.","input":"Weather in Paris?","tools":[{{WeatherTool}}]}"""));
        var text = await first.Content.ReadAsStringAsync();

        Assert.True(first.StatusCode == HttpStatusCode.OK, text);
        OpenApiSpec.AssertValid("Response", text);
        var response = JsonNode.Parse(text)!;
        Assert.Equal("completed", (string?)response["status"]);
        Assert.Equal("gem/gemini-3-pro-preview", (string?)response["model"]);
        var output = response["output"]!.AsArray();
        var message = output.Single(o => (string?)o!["type"] == "message")!;
        Assert.Equal("Let me check.", (string?)message["content"]![0]!["text"]);
        var call = output.Single(o => (string?)o!["type"] == "function_call")!;
        Assert.Equal("get_weather", (string?)call["name"]);
        Assert.Equal("Paris", (string?)JsonNode.Parse((string)call["arguments"]!)!["city"]);
        Assert.Equal(12, (int)response["usage"]!["input_tokens"]!);
        Assert.Equal(7, (int)response["usage"]!["output_tokens"]!);
        var sent = JsonNode.Parse(fake.Requests[0].Body)!;
        Assert.Equal("Be brief.", (string?)sent["systemInstruction"]!["parts"]![0]!["text"]);
        Assert.Equal("get_weather", (string?)sent["tools"]![0]!["functionDeclarations"]![0]!["name"]);

        // Turn 2: the output items sent back unchanged plus the function's result; the fake (Gemini 3 rules) insists
        // on the thought signature it issued.
        var input = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" } };
        foreach (var item in output) input.Add(item!.DeepClone());
        input.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = (string?)call["call_id"], ["output"] = """{"sky":"sunny"}""" });
        var second = new JsonObject { ["model"] = "gem/gemini-3-pro-preview", ["input"] = input, ["tools"] = new JsonArray(JsonNode.Parse(WeatherTool)) };
        using var reply = await gateway.Http.PostAsync("/v1/responses", GeminiWireFormatTests.Json(second.ToJsonString()));
        var replyText = await reply.Content.ReadAsStringAsync();

        Assert.True(reply.StatusCode == HttpStatusCode.OK, replyText);
        Assert.Equal(2, fake.Requests.Count);
        Assert.True(fake.Requests[1].Status == 200, fake.Requests[1].Error);
        Assert.Contains("Sunny in Paris.", replyText);
        var contents = JsonNode.Parse(fake.Requests[1].Body)!["contents"]!.AsArray();
        var functionResponse = contents[^1]!["parts"]![0]!["functionResponse"]!;
        Assert.Equal("get_weather", (string?)functionResponse["name"]);
        Assert.Equal("sunny", (string?)functionResponse["response"]!["sky"]);
    }

    [Fact]
    public async Task Streamed_Responses_events_from_Gemini_match_their_schemas_and_end_completed()
    {
        await using var fake = await FakeGeminiServer.StartAsync();
        await using var gateway = await GatewayServer.StartAsync(GeminiWireFormatTests.Provider(fake));
        fake.Enqueue(new FakeGeminiReply { Text = "one two three", TextChunks = 3, FunctionCalls = [("get_weather", """{"city":"Oslo"}""")] });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
        {
            Content = GeminiWireFormatTests.Json($$"""{"model":"gem/gemini-2.5-flash","stream":true,"input":"Weather in Oslo?","tools":[{{WeatherTool}}]}"""),
        };
        using var response = await gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = await Sse.ReadDataAsync(response);

        var types = new List<string>();
        foreach (var data in events)
        {
            var type = JsonDocument.Parse(data).RootElement.GetProperty("type").GetString()!;
            types.Add(type);
            OpenApiSpec.AssertValid(ResponsesEventSchemas.For(type), data);
        }
        Assert.Equal("response.created", types[0]);
        Assert.Equal("response.completed", types[^1]);
        var deltas = events.Where(e => e.Contains("\"response.output_text.delta\"")).Select(e => (string?)JsonNode.Parse(e)!["delta"]);
        Assert.Equal("one two three", string.Concat(deltas));
        var done = JsonNode.Parse(events.Single(e => e.Contains("\"response.function_call_arguments.done\"")))!;
        Assert.Equal("Oslo", (string?)JsonNode.Parse((string)done["arguments"]!)!["city"]);
        Assert.Equal("?alt=sse", fake.Requests.Single().Query);
    }
}
