using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;
using Sanjia.Core.Upstream;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates an OpenAI <c>chat.completion</c> into a Responses API <c>response</c>: reasoning (with signed thinking
/// blocks in <c>encrypted_content</c>) first, then the assistant message (<c>output_text</c> or <c>refusal</c>), then
/// one <c>function_call</c> item per tool call; <c>finish_reason: length</c> makes the response <c>incomplete</c>.
/// </summary>
public static class OpenAiToResponsesResponse
{
    public static (byte[]? Body, GatewayError? Error) Translate(ReadOnlySpan<byte> completion, ResponsesEnvelope envelope, TokenUsage engineUsage, long completedAt)
    {
        OpenAiCompletion? c;
        try
        {
            c = JsonSerializer.Deserialize(completion, OpenAiWireJsonContext.Default.OpenAiCompletion);
        }
        catch (JsonException)
        {
            c = null;
        }
        var choice = c?.Choices?.FirstOrDefault(x => x.Index == 0) ?? c?.Choices?.FirstOrDefault();
        if (choice?.Message is not { } m)
        {
            return (null, UpstreamErrors.ProtocolError("The backend returned a body that is not a chat completion."));
        }
        var output = Items(m);
        var (status, reason) = ResponsesJson.Status(choice.FinishReason);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            ResponsesJson.WriteResponse(w, envelope, status, output, c!.Usage ?? ResponsesJson.FromTokens(engineUsage), reason,
                completedAt: status == "completed" ? completedAt : null);
        }
        return (buffer.WrittenSpan.ToArray(), null);
    }

    private static List<ResponsesOutputItem> Items(OpenAiMessage m)
    {
        var items = new List<ResponsesOutputItem>();
        if (!string.IsNullOrEmpty(m.ReasoningContent) || m.ThinkingBlocks is { Count: > 0 })
        {
            var reasoning = new ResponsesOutputItem { Kind = ResponsesOutputItem.ItemKind.Reasoning, Id = ResponsesJson.NewItemId("rs") };
            reasoning.Text.Append(m.ReasoningContent ?? string.Concat((m.ThinkingBlocks ?? []).Select(b => b.Thinking)));
            reasoning.Thinking.AddRange(m.ThinkingBlocks ?? []);
            items.Add(reasoning);
        }
        var calls = m.ToolCalls ?? [];
        if (!string.IsNullOrEmpty(m.Content) || m.Refusal is not null || calls.Count == 0)
        {
            var message = new ResponsesOutputItem { Kind = ResponsesOutputItem.ItemKind.Message, Id = ResponsesJson.NewItemId("msg") };
            message.Text.Append(m.Content);
            message.Refusal = m.Refusal;
            items.Add(message);
        }
        foreach (var call in calls)
        {
            var item = new ResponsesOutputItem
            {
                Kind = ResponsesOutputItem.ItemKind.FunctionCall,
                Id = ResponsesJson.NewItemId("fc"),
                CallId = call.Id ?? ResponsesJson.NewItemId("call"),
                Name = call.Function?.Name ?? "",
            };
            item.Arguments.Append(call.Function?.Arguments ?? "{}");
            items.Add(item);
        }
        return items;
    }
}
