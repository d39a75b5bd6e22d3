using System.Text;
using System.Text.Json;
using Sanjia.Api.FunctionalTests.Infrastructure;

namespace Sanjia.Api.FunctionalTests.Protocols;

/// <summary>The Anthropic SDK against the in-process local model (stories260K): JSON and streaming.</summary>
public sealed class AnthropicLocalModelTests
{
    [Fact]
    public async Task Anthropic_SDK_talks_to_the_local_model_streaming_and_not()
    {
        await using var gateway = await GatewayServer.StartWithArgsAsync($"--Sanjia:ModelFiles:0={TestModel.Path}");
        var client = Sdk.Anthropic(gateway);
        const string request = """{"model":"local/stories260K","max_tokens":12,"system":"Tell a story.","messages":[{"role":"user","content":"Once upon a time"}]}""";

        var message = await client.Messages.Create(Sdk.Create(request));
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.False(string.IsNullOrWhiteSpace(text!.Text));
        Assert.Contains(message.StopReason!.Raw(), new[] { "end_turn", "max_tokens" });
        Assert.InRange(message.Usage.OutputTokens, 1, 12);
        Assert.True(message.Usage.InputTokens > 0);

        var streamed = new StringBuilder();
        var kinds = new List<string>();
        long? outputTokens = null;
        await foreach (var e in client.Messages.CreateStreaming(Sdk.Create(request)))
        {
            kinds.Add(AnthropicMessagesTests.Kind(e));
            if (e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickText(out var t)) streamed.Append(t!.Text);
            if (e.TryPickDelta(out var md)) outputTokens = md!.Usage.OutputTokens;
        }
        Assert.False(string.IsNullOrWhiteSpace(streamed.ToString()));
        Assert.Equal("start", kinds[0]);
        Assert.Equal(["block_stop", "delta", "stop"], kinds[^3..]);
        Assert.InRange(outputTokens ?? 0, 1, 12);
    }

    [Fact]
    public async Task Anthropic_SDK_streams_a_tool_using_conversation_with_the_local_model()
    {
        await using var gateway = await GatewayServer.StartWithArgsAsync($"--Sanjia:ModelFiles:0={TestModel.Path}");
        var client = Sdk.Anthropic(gateway);
        // Tools defined, and a tool_use / tool_result turn in the history: the local model sees them in its prompt.
        const string request = """
            {"model":"local/stories260K","max_tokens":12,"system":"Tell a story.",
             "tools":[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
             "tool_choice":{"type":"auto"},
             "messages":[
               {"role":"user","content":"Once upon a time, what was the weather in Paris?"},
               {"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"Sunny, 18C"}]}]}
            """;

        var kinds = new List<string>();
        var streamed = new StringBuilder();
        long? outputTokens = null;
        string? stopReason = null;
        await foreach (var e in client.Messages.CreateStreaming(Sdk.Create(request)))
        {
            kinds.Add(AnthropicMessagesTests.Kind(e));
            if (e.TryPickContentBlockDelta(out var d) && d!.Delta.TryPickText(out var t)) streamed.Append(t!.Text);
            if (e.TryPickDelta(out var md))
            {
                outputTokens = md!.Usage.OutputTokens;
                stopReason = md.Delta.StopReason?.Raw();
            }
        }

        // The tiny model answers with text: one text block, in Anthropic's event order.
        Assert.Equal("start", kinds[0]);
        Assert.Equal("block_start", kinds[1]);
        Assert.Equal(["block_stop", "delta", "stop"], kinds[^3..]);
        Assert.All(kinds[2..^3], k => Assert.Equal("block_delta", k));
        Assert.False(string.IsNullOrWhiteSpace(streamed.ToString()));
        Assert.Contains(stopReason, new[] { "end_turn", "max_tokens" });
        Assert.InRange(outputTokens ?? 0, 1, 12);

        // The tool definitions and the tool turn were rendered into the prompt: it is much longer than the plain one.
        var withTools = await client.Messages.Create(Sdk.Create(request));
        Assert.True(withTools.Content[0].TryPickText(out _));
        var inputTokens = withTools.Usage.InputTokens;
        var plain = await client.Messages.Create(Sdk.Create("""
            {"model":"local/stories260K","max_tokens":1,"system":"Tell a story.","messages":[{"role":"user","content":"Once upon a time, what was the weather in Paris?"}]}
            """));
        Assert.True(inputTokens > plain.Usage.InputTokens + 50, $"{inputTokens} prompt tokens with tools vs {plain.Usage.InputTokens} without");
    }
}
