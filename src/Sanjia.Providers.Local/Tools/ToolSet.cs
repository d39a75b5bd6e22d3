using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Providers.Local.Tools;

/// <summary>
/// The tools a request offers the model and how strongly it must use them (<c>tool_choice</c>), validated.
/// <c>tool_choice: "none"</c> (or no tools) means no tool set at all: nothing is rendered and nothing parsed.
/// </summary>
internal sealed record ToolSet(IReadOnlyList<JsonElement> Tools, ToolSet.Choice Mode, string? ForcedName)
{
    public enum Choice { Auto, Required, Named }

    /// <summary>True when the answer must be a tool call (required or a named tool).</summary>
    public bool Forced => Mode != Choice.Auto;

    /// <summary>The request's tool set, null when there are no tools to render, or a 400 naming the bad field.</summary>
    public static ToolSet? From(JsonElement? tools, JsonElement? toolChoice, out GatewayError? error)
    {
        error = null;
        if (tools is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() == 0)
        {
            return null;
        }
        var list = new List<JsonElement>();
        var index = 0;
        foreach (var tool in array.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object
                || !tool.TryGetProperty("type", out var type) || !type.ValueEquals("function")
                || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length == 0)
            {
                error = GatewayError.Invalid($"Invalid tool at 'tools[{index}]': expected {{\"type\":\"function\",\"function\":{{\"name\":...}}}}.", $"tools[{index}]");
                return null;
            }
            list.Add(tool);
            index++;
        }

        switch (toolChoice)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return new ToolSet(list, Choice.Auto, null);
            case { ValueKind: JsonValueKind.String } s when s.ValueEquals("none"):
                return null;
            case { ValueKind: JsonValueKind.String } s when s.ValueEquals("auto"):
                return new ToolSet(list, Choice.Auto, null);
            case { ValueKind: JsonValueKind.String } s when s.ValueEquals("required"):
                return new ToolSet(list, Choice.Required, null);
            case { ValueKind: JsonValueKind.Object } o
                when o.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                     && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String:
                var wanted = n.GetString()!;
                var named = list.Where(t => t.GetProperty("function").GetProperty("name").ValueEquals(wanted)).ToList();
                if (named.Count == 0)
                {
                    error = GatewayError.Invalid($"'tool_choice' names the function '{wanted}', which is not in 'tools'.", "tool_choice");
                    return null;
                }
                // As llama.cpp's server does: a named choice offers only that tool.
                return new ToolSet(named, Choice.Named, wanted);
            default:
                error = GatewayError.Invalid("Invalid 'tool_choice': expected \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}.", "tool_choice");
                return null;
        }
    }
}
