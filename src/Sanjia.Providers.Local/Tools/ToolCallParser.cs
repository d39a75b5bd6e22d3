using System.Text;
using System.Text.Json;

namespace Sanjia.Providers.Local.Tools;

/// <summary>One tool call read from generated text; <see cref="Arguments"/> is JSON text, as OpenAI sends it.</summary>
internal sealed record ParsedToolCall(string Id, string Name, string Arguments);

/// <summary>Generated text split into what stays text and the tool calls (none when the text holds no valid call).</summary>
internal sealed record ParsedAnswer(string Content, IReadOnlyList<ParsedToolCall> Calls);

/// <summary>
/// Reads tool calls out of generated text: every <c>&lt;tool_call&gt;{"name":...,"arguments":{...}}&lt;/tool_call&gt;</c>
/// block (the last closing tag may be missing when generation stopped right after the JSON), or, when the request
/// forces a tool, the whole answer being such a JSON object. If any block is malformed, nothing is a call and the
/// whole text stays text, so the caller never loses what the model wrote.
/// </summary>
internal static class ToolCallParser
{
    public static ParsedAnswer Parse(string text, bool forced)
    {
        var calls = new List<ParsedToolCall>();
        var content = new StringBuilder();
        var position = 0;
        while (true)
        {
            var open = text.IndexOf(ToolPrompt.CallOpen, position, StringComparison.Ordinal);
            if (open < 0)
            {
                content.Append(text, position, text.Length - position);
                break;
            }
            content.Append(text, position, open - position);
            var start = open + ToolPrompt.CallOpen.Length;
            var close = text.IndexOf(ToolPrompt.CallClose, start, StringComparison.Ordinal);
            var inner = close < 0 ? text[start..] : text[start..close];
            if (Call(inner) is not { } call)
            {
                return new ParsedAnswer(text, []);
            }
            calls.Add(call);
            if (close < 0)
            {
                break;
            }
            position = close + ToolPrompt.CallClose.Length;
        }

        if (calls.Count == 0 && forced && Call(text) is { } whole)
        {
            return new ParsedAnswer("", [whole]);
        }
        return calls.Count == 0 ? new ParsedAnswer(text, []) : new ParsedAnswer(content.ToString().Trim(), calls);
    }

    /// <summary>A JSON object with a string <c>name</c> and object <c>arguments</c> (or a string holding one; absent = {}).</summary>
    private static ParsedToolCall? Call(string json)
    {
        json = json.Trim();
        if (json.Length == 0 || json[0] != '{')
        {
            return null;
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length == 0)
            {
                return null;
            }
            string arguments;
            if (!root.TryGetProperty("arguments", out var args) && !root.TryGetProperty("parameters", out args))
            {
                arguments = "{}";
            }
            else if (args.ValueKind == JsonValueKind.Object)
            {
                arguments = args.GetRawText();
            }
            else if (args.ValueKind == JsonValueKind.String && IsJsonObject(args.GetString()!))
            {
                arguments = args.GetString()!;
            }
            else
            {
                return null;
            }
            return new ParsedToolCall(NewId(), name.GetString()!, arguments);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string NewId() => "call_" + Guid.NewGuid().ToString("N")[..24];
}

/// <summary>
/// Sits between a streaming generation and its chunks when tools are offered: text passes through until a
/// <c>&lt;tool_call&gt;</c> begins (text that could be the start of that tag is held back until decided); from there
/// on the rest is kept and parsed at the end. When a tool is forced, the whole answer is kept, since it may be a
/// bare JSON call.
/// </summary>
internal sealed class ToolCallStreamFilter(bool forced)
{
    private readonly StringBuilder _held = new();
    private readonly bool _forced = forced;
    private bool _capturing = forced;

    /// <summary>Adds generated text; returns the part that can be streamed as content now (maybe empty).</summary>
    public string Push(string text)
    {
        _held.Append(text);
        if (_capturing)
        {
            return "";
        }
        var held = _held.ToString();
        var open = held.IndexOf(ToolPrompt.CallOpen, StringComparison.Ordinal);
        if (open >= 0)
        {
            _capturing = true;
            _held.Remove(0, open);
            return held[..open];
        }
        // Keep back the longest tail that is a prefix of the tag.
        var keep = 0;
        for (var n = Math.Min(ToolPrompt.CallOpen.Length - 1, held.Length); n > 0; n--)
        {
            if (ToolPrompt.CallOpen.StartsWith(held[^n..], StringComparison.Ordinal))
            {
                keep = n;
                break;
            }
        }
        _held.Remove(0, held.Length - keep);
        return held[..^keep];
    }

    /// <summary>At the end of generation: the remaining text to stream and the tool calls found.</summary>
    public ParsedAnswer Complete()
    {
        var rest = _held.ToString();
        _held.Clear();
        return _capturing ? ToolCallParser.Parse(rest, _forced) : new ParsedAnswer(rest, []);
    }
}
