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

        // Tools cannot be honoured by a plain llama.cpp generation: a 400 naming the parameter, in Anthropic's shape.
        using var http = gateway.CreateHttpClient();
        using var response = await http.PostAsync("v1/messages", AnthropicMessagesTests.Json("""
            {"model":"local/stories260K","max_tokens":8,"tools":[{"name":"t","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}
            """));
        Assert.Equal(400, (int)response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", doc.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("tools", doc.RootElement.GetProperty("error").GetProperty("message").GetString());
    }
}
