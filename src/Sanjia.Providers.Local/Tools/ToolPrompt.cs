using System.Text;
using System.Text.Json;
using Sanjia.Core.Json;

namespace Sanjia.Providers.Local.Tools;

/// <summary>
/// Turns an OpenAI message list into the (role, text) turns a chat template takes, with tools in the Hermes/Qwen
/// convention: the tool definitions in a system section, the model's earlier calls as
/// <c>&lt;tool_call&gt;{"name":...,"arguments":{...}}&lt;/tool_call&gt;</c> in its own turns, and tool results as
/// <c>&lt;tool_response&gt;...&lt;/tool_response&gt;</c> in a user turn (consecutive results share one turn).
/// llama.cpp's <c>llama_chat_apply_template</c> has no tool support, so this text is what every template receives.
/// </summary>
internal static class ToolPrompt
{
    public const string CallOpen = "<tool_call>";
    public const string CallClose = "</tool_call>";


    public static List<(string Role, string Content)> Messages(IReadOnlyList<ChatMessageDto> messages, ToolSet? tools)
    {
        var turns = new List<(string Role, string Content)>();
        foreach (var m in messages)
        {
            var role = m.Role switch
            {
                // Templates know system/user/assistant; OpenAI's newer name for the system role maps onto it.
                "developer" => "system",
                var r => r,
            };
            switch (role)
            {
                case "tool" or "function":
                    var response = $"<tool_response>\n{m.Text}\n</tool_response>";
                    if (turns.Count > 0 && turns[^1] is ("user", var previous) && previous.EndsWith("</tool_response>", StringComparison.Ordinal))
                    {
                        turns[^1] = ("user", previous + "\n" + response);
                    }
                    else
                    {
                        turns.Add(("user", response));
                    }
                    break;
                case "assistant" when m.ToolCalls is { ValueKind: JsonValueKind.Array } calls && calls.GetArrayLength() > 0:
                    var text = new StringBuilder(m.Text);
                    foreach (var call in calls.EnumerateArray())
                    {
                        if (text.Length > 0) text.Append('\n');
                        text.Append(CallOpen).Append('\n').Append(RenderCall(call)).Append('\n').Append(CallClose);
                    }
                    turns.Add(("assistant", text.ToString()));
                    break;
                default:
                    turns.Add((role, m.Text));
                    break;
            }
        }

        if (tools is not null)
        {
            var section = SystemSection(tools);
            var first = turns.FindIndex(t => t.Role == "system");
            if (first >= 0)
            {
                turns[first] = ("system", turns[first].Content.Length > 0 ? turns[first].Content + "\n\n" + section : section);
            }
            else
            {
                turns.Insert(0, ("system", section));
            }
        }
        return turns;
    }

    /// <summary>The system-prompt section listing the tools as JSON schemas and how to call them.</summary>
    public static string SystemSection(ToolSet tools)
    {
        var sb = new StringBuilder();
        sb.Append("# Tools\n\n");
        sb.Append(tools.Mode switch
        {
            ToolSet.Choice.Named => $"You must call the function \"{tools.ForcedName}\" to answer the user query.\n\n",
            ToolSet.Choice.Required => "You must call one or more functions to answer the user query.\n\n",
            _ => "You may call one or more functions to assist with the user query.\n\n",
        });
        sb.Append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n");
        foreach (var tool in tools.Tools)
        {
            sb.Append(JsonSerializer.Serialize(tool, SanjiaJson.Serializer)).Append('\n');
        }
        sb.Append("</tools>\n\n");
        sb.Append("For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n");
        sb.Append(CallOpen).Append("\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n").Append(CallClose);
        return sb.ToString();
    }

    /// <summary>An OpenAI tool call from history as <c>{"name":...,"arguments":{...}}</c>.</summary>
    private static string RenderCall(JsonElement call)
    {
        var name = "";
        JsonElement? arguments = null;
        string? rawArguments = null;
        if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object)
        {
            if (f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String) name = n.GetString()!;
            if (f.TryGetProperty("arguments", out var a))
            {
                if (a.ValueKind == JsonValueKind.String)
                {
                    // OpenAI sends arguments as a JSON string; show the model the object it would have written.
                    rawArguments = a.GetString();
                    try
                    {
                        using var doc = JsonDocument.Parse(rawArguments ?? "");
                        arguments = doc.RootElement.Clone();
                    }
                    catch (JsonException)
                    {
                        arguments = null;
                    }
                }
                else
                {
                    arguments = a;
                }
            }
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WritePropertyName("arguments");
            if (arguments is { } args) args.WriteTo(w);
            else if (rawArguments is not null) w.WriteStringValue(rawArguments);
            else { w.WriteStartObject(); w.WriteEndObject(); }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
