using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Api.FunctionalTests.OpenAi;

/// <summary>The Responses API (<c>/v1/responses</c>) against the in-process local model (stories260K): plain text and streaming.</summary>
public sealed class LocalModelResponsesTests : IAsyncLifetime
{
    private GatewayServer _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayServer.StartAsync([
        new("ModelFiles:0", TestModel.Path),
        new("Local:MaxConcurrency", "1"),
        new("Local:MaxQueue", "2"),
    ]);

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private static StringContent Body(bool stream) => new(
        $$"""{"model":"local/{{TestModel.Name}}","stream":{{(stream ? "true" : "false")}},"max_output_tokens":16,"temperature":0,"input":"Once upon a time"}""",
        Encoding.UTF8, "application/json");

    [Fact]
    public async Task Plain_text_answer_is_a_completed_response_with_usage()
    {
        using var response = await _gateway.Http.PostAsync("/v1/responses", Body(stream: false));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        OpenApiSpec.AssertValid("Response", text);
        var r = JsonNode.Parse(text)!;
        Assert.Equal("response", (string?)r["object"]);
        Assert.Contains((string?)r["status"], new[] { "completed", "incomplete" });
        var message = r["output"]!.AsArray().Single(o => (string?)o!["type"] == "message")!;
        Assert.False(string.IsNullOrWhiteSpace((string?)message["content"]![0]!["text"]));
        Assert.InRange((int)r["usage"]!["output_tokens"]!, 1, 16);
        Assert.True((int)r["usage"]!["input_tokens"]! > 0);
    }

    [Fact]
    public async Task Streaming_sends_text_deltas_as_schema_valid_events_ending_in_a_final_response()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = Body(stream: true) };
        using var response = await _gateway.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await Sse.ReadDataAsync(response);

        var parsed = events.Select(e => JsonDocument.Parse(e).RootElement).ToList();
        var types = parsed.Select(e => e.GetProperty("type").GetString()!).ToList();
        for (var i = 0; i < events.Count; i++)
        {
            OpenApiSpec.AssertValid(ResponsesEventSchemas.For(types[i]), events[i]);
            Assert.Equal(i, parsed[i].GetProperty("sequence_number").GetInt32());
        }
        Assert.Equal("response.created", types[0]);
        Assert.Contains(types[^1], new[] { "response.completed", "response.incomplete" });
        var deltas = parsed.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").Select(e => e.GetProperty("delta").GetString()).ToList();
        Assert.True(deltas.Count > 1, "token by token, not one lump");
        var done = parsed.Single(e => e.GetProperty("type").GetString() == "response.output_text.done");
        Assert.Equal(string.Concat(deltas), done.GetProperty("text").GetString());
        var final = parsed[^1].GetProperty("response");
        Assert.InRange(final.GetProperty("usage").GetProperty("output_tokens").GetInt32(), 1, 16);
    }
}
