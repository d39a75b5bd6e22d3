using System.Text;
using System.Text.Json.Nodes;
using Sanjia.Api.FunctionalTests.Infrastructure;
using Sanjia.Testing.FakeUpstream;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>
/// Parallel OpenAI tool calls on an Anthropic stream: whether the vendor sends the calls' fragments one call after the
/// other or interleaved (index 0, 1, 0, 1), each call is one <c>tool_use</c> block with its name and whole input, and
/// the stream keeps Anthropic's event grammar (one block open at a time, deltas for the open block only).
/// </summary>
public sealed class AnthropicStreamToolCallTests
{
    private const string Tools = """[{"name":"get_weather","input_schema":{"type":"object"}},{"name":"get_time","input_schema":{"type":"object"}}]""";
    private const string Weather = """{"city":"Paris","unit":"celsius"}""";
    private const string Time = """{"zone":"Europe/Paris"}""";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Parallel_tool_calls_become_one_tool_use_block_each(bool interleave)
    {
        await using var upstream = await FakeOpenAiServer.StartAsync();
        await using var gateway = await GatewayServer.StartWithArgsAsync(GatewayServer.Provider("vendor", upstream.BaseUrl, upstream.ApiKey));
        var behavior = new FakeBehavior
        {
            Tool = new FakeToolCall("get_weather", Weather, Pieces: 4),
            MoreTools = [new FakeToolCall("get_time", Time, Pieces: 3)],
            InterleaveTools = interleave,
        };
        const string request = $$"""{"model":"vendor/gpt-4o","max_tokens":128,"stream":true,"tools":{{Tools}},"messages":[{"role":"user","content":"Weather and time in Paris?"}]}""";

        // The wire: Anthropic's grammar.
        upstream.Enqueue(behavior);
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", AnthropicMessagesTests.Json(request));
        var open = -1;
        var started = new List<(string Name, StringBuilder Input)>();
        foreach (var data in await Sse.ReadDataAsync(response))
        {
            var e = JsonNode.Parse(data)!;
            switch ((string?)e["type"])
            {
                case "content_block_start":
                    Assert.Equal(-1, open);
                    open = (int)e["index"]!;
                    Assert.Equal(started.Count, open);
                    started.Add(((string?)e["content_block"]!["name"] ?? "", new StringBuilder()));
                    break;
                case "content_block_delta":
                    Assert.Equal(open, (int)e["index"]!);
                    started[open].Input.Append((string?)e["delta"]!["partial_json"]);
                    break;
                case "content_block_stop":
                    Assert.Equal(open, (int)e["index"]!);
                    open = -1;
                    break;
            }
        }
        Assert.Equal(["get_weather", "get_time"], started.Select(b => b.Name));
        Assert.Equal([Weather, Time], started.Select(b => b.Input.ToString()));

        // The official SDK reads the same stream without complaint.
        upstream.Enqueue(behavior);
        var names = new List<string>();
        var inputs = new Dictionary<long, StringBuilder>();
        string? stop = null;
        await foreach (var e in Sdk.Anthropic(gateway).Messages.CreateStreaming(Sdk.Create(request)))
        {
            if (e.TryPickContentBlockStart(out var s) && s!.ContentBlock.TryPickToolUse(out var tu)) { names.Add(tu!.Name); inputs[s.Index] = new StringBuilder(); }
            if (e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickInputJson(out var j)) inputs[d.Index].Append(j!.PartialJson);
            if (e.TryPickDelta(out var md)) stop = md!.Delta.StopReason?.Raw();
        }
        Assert.Equal(["get_weather", "get_time"], names);
        Assert.Equal([Weather, Time], inputs.OrderBy(i => i.Key).Select(i => i.Value.ToString()));
        Assert.Equal("tool_use", stop);
    }
}
