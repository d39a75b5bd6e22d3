using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates the engine's OpenAI Chat Completions body into an Anthropic Messages request for an Anthropic backend.
/// System and developer messages become <c>system</c>; tool messages become <c>tool_result</c> blocks of a user turn;
/// consecutive same-role turns are merged (Anthropic requires alternation); signed <c>thinking_blocks</c> are sent
/// back as thinking blocks (unsigned reasoning from other vendors cannot be, and is dropped). JSON mode and JSON-schema
/// output use Anthropic's documented emulation: one forced tool whose input is the answer.
/// </summary>
public static class OpenAiToAnthropicRequest
{
    /// <summary>The tool used to emulate structured output; its input becomes the message content on the way back.</summary>
    public const string JsonToolName = "json_output";

    /// <summary>Anthropic requires <c>max_tokens</c>; this is sent when the caller set none.</summary>
    public const int DefaultMaxTokens = 4096;

    /// <summary>OpenAI fields that need no translation or are handled by the gateway itself.</summary>
    private static readonly HashSet<string> Handled = new(StringComparer.Ordinal)
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "stop", "stream",
        "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "metadata", "thinking",
        "reasoning_effort", "n", "drop_params", "store", "service_tier",
    };

    public readonly record struct Result(byte[]? Body, GatewayError? Error, bool JsonToolEmulated);

    /// <param name="dropUnsupported">Leave out what Anthropic cannot honour instead of refusing it.</param>
    public static Result Translate(ReadOnlySpan<byte> openAiBody, string upstreamModel, string backend, bool dropUnsupported)
    {
        using var doc = JsonDocument.Parse(openAiBody.ToArray());
        var root = doc.RootElement;
        dropUnsupported |= root.TryGetProperty("drop_params", out var dp) && dp.ValueKind == JsonValueKind.True;
        try
        {
            foreach (var p in root.EnumerateObject())
            {
                if (!Handled.Contains(p.Name) && p.Value.ValueKind != JsonValueKind.Null && !dropUnsupported)
                {
                    return new(null, GatewayError.Unsupported(p.Name, backend), false);
                }
            }
            if (root.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number && n.GetInt32() > 1)
            {
                return new(null, GatewayError.Unsupported("n", backend), false);
            }
            var buffer = new ArrayBufferWriter<byte>(1024);
            bool emulated;
            using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
            {
                emulated = Write(w, root, upstreamModel, backend, dropUnsupported);
            }
            return new(buffer.WrittenSpan.ToArray(), null, emulated);
        }
        catch (TranslationException ex)
        {
            return new(null, ex.Error, false);
        }
    }

    private static bool Write(Utf8JsonWriter w, JsonElement root, string model, string backend, bool drop)
    {
        w.WriteStartObject();
        w.WriteString("model"u8, model);
        int? callerMax = root.TryGetProperty("max_completion_tokens", out var mct) && mct.ValueKind == JsonValueKind.Number ? mct.GetInt32()
            : root.TryGetProperty("max_tokens", out var mt) && mt.ValueKind == JsonValueKind.Number ? mt.GetInt32() : null;
        var thinking = PlanThinking(root, callerMax);
        // Without a caller's max_tokens, the answer keeps the default room on top of the thinking budget (Anthropic:
        // budget_tokens < max_tokens, and max_tokens counts thinking and answer together).
        var maxTokens = callerMax ?? DefaultMaxTokens + thinking.Budget;
        w.WriteNumber("max_tokens"u8, maxTokens);
        WriteMessages(w, root.GetProperty("messages"));
        if (root.TryGetProperty("temperature", out var t) && t.ValueKind == JsonValueKind.Number)
        {
            var v = t.GetDouble();
            // With thinking, Anthropic accepts only temperature 1; a sampling hint gives way to thinking.
            var keep = !thinking.On || v == 1;
            if (keep && v <= 1) w.WriteNumber("temperature"u8, v);
            else if (keep && !drop) throw new TranslationException(GatewayError.Invalid($"The parameter 'temperature' must be between 0 and 1 for {backend} (got {v}).", "temperature", "unsupported_value"));
        }
        // With thinking, Anthropic refuses top_k and accepts top_p only from 0.95 to 1.
        if (root.TryGetProperty("top_p", out var tp) && tp.ValueKind == JsonValueKind.Number && !(thinking.On && tp.GetDouble() < 0.95)) w.WriteNumber("top_p"u8, tp.GetDouble());
        if (root.TryGetProperty("top_k", out var tk) && tk.ValueKind == JsonValueKind.Number && !thinking.On) w.WriteNumber("top_k"u8, tk.GetInt32());
        if (root.TryGetProperty("stop", out var stop) && stop.ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            w.WriteStartArray("stop_sequences"u8);
            if (stop.ValueKind == JsonValueKind.String) w.WriteStringValue(stop.GetString());
            else foreach (var s in stop.EnumerateArray()) w.WriteStringValue(s.GetString());
            w.WriteEndArray();
        }
        if (root.TryGetProperty("stream", out var st) && st.ValueKind == JsonValueKind.True) w.WriteBoolean("stream"u8, true);
        if (root.TryGetProperty("user", out var user) && user.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject("metadata"u8);
            w.WriteString("user_id"u8, user.GetString());
            w.WriteEndObject();
        }
        if (thinking.Explicit is { } given)
        {
            w.WritePropertyName("thinking"u8);
            given.WriteTo(w);
        }
        else if (thinking.On)
        {
            w.WriteStartObject("thinking"u8);
            w.WriteString("type"u8, "enabled"u8);
            w.WriteNumber("budget_tokens"u8, thinking.Budget);
            w.WriteEndObject();
        }
        var emulated = WriteTools(w, root, thinking.On);
        w.WriteEndObject();
        return emulated;
    }

    /// <summary>Anthropic's smallest thinking budget.</summary>
    private const int MinThinkingBudget = 1024;

    /// <param name="On">Thinking is sent enabled.</param>
    /// <param name="Budget">Its budget (0 when none is known: off, or an explicit object without one).</param>
    /// <param name="Explicit">The caller's own <c>thinking</c> object, sent as is.</param>
    private readonly record struct ThinkingPlan(bool On, int Budget, JsonElement? Explicit);

    /// <summary>
    /// What thinking the request gets. Anthropic refuses thinking with a forced <c>tool_choice</c>: a tool the caller
    /// forces (<c>required</c> or a named function) is a contract, thinking an optimisation, so thinking is left out.
    /// <c>reasoning_effort</c> maps to LiteLLM's budgets (low 1024, medium 2048, high 4096), kept below the caller's
    /// <c>max_tokens</c> (Anthropic requires budget_tokens &lt; max_tokens and at least 1024; a smaller cap leaves
    /// thinking out, since the caller's limit includes reasoning in OpenAI's protocol).
    /// </summary>
    private static ThinkingPlan PlanThinking(JsonElement root, int? callerMax)
    {
        if (root.TryGetProperty("tool_choice", out var choice) && (choice.ValueKind == JsonValueKind.Object
            || (choice.ValueKind == JsonValueKind.String && choice.ValueEquals("required"u8))))
        {
            return default;
        }
        if (root.TryGetProperty("thinking", out var thinking) && thinking.ValueKind == JsonValueKind.Object)
        {
            var on = !(thinking.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("disabled"u8));
            var budget = thinking.TryGetProperty("budget_tokens", out var b) && b.ValueKind == JsonValueKind.Number && b.TryGetInt32(out var n) ? n : 0;
            return new(on, on ? budget : 0, thinking);
        }
        if (root.TryGetProperty("reasoning_effort", out var effort) && effort.ValueKind == JsonValueKind.String)
        {
            var budget = effort.GetString() switch { "low" or "minimal" => MinThinkingBudget, "medium" => 2048, "high" => 4096, _ => 0 };
            if (callerMax is { } max) budget = Math.Min(budget, max - 1);
            if (budget >= MinThinkingBudget) return new(true, budget, null);
        }
        return default;
    }

    private static void WriteMessages(Utf8JsonWriter w, JsonElement messages)
    {
        var system = new List<JsonElement>();
        // Build the turns first: consecutive same-role messages merge into one Anthropic turn.
        var turns = new List<(string Role, List<Action<Utf8JsonWriter>> Blocks)>();
        void Add(string role, Action<Utf8JsonWriter> block)
        {
            if (turns.Count == 0 || turns[^1].Role != role) turns.Add((role, []));
            turns[^1].Blocks.Add(block);
        }
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            var role = m.GetProperty("role").GetString();
            var content = m.TryGetProperty("content", out var c) ? c : default;
            switch (role)
            {
                case "system" or "developer":
                    system.Add(content);
                    break;
                case "user":
                    foreach (var b in UserBlocks(content, at)) Add("user", b);
                    break;
                case "tool" or "function":
                    var id = m.TryGetProperty("tool_call_id", out var tid) ? tid.GetString() : null;
                    var text = TextOf(content);
                    Add("user", x =>
                    {
                        x.WriteStartObject();
                        x.WriteString("type"u8, "tool_result"u8);
                        x.WriteString("tool_use_id"u8, id);
                        x.WriteString("content"u8, text);
                        x.WriteEndObject();
                    });
                    break;
                case "assistant":
                    foreach (var b in AssistantBlocks(m, content)) Add("assistant", b);
                    break;
            }
        }
        if (system.Count > 0)
        {
            w.WriteStartArray("system"u8);
            foreach (var s in system)
            {
                if (s.ValueKind == JsonValueKind.String) TextBlock(w, s.GetString()!, null);
                else if (s.ValueKind == JsonValueKind.Array)
                    foreach (var part in s.EnumerateArray())
                        TextBlock(w, part.TryGetProperty("text", out var pt) ? pt.GetString() ?? "" : "", part.TryGetProperty("cache_control", out var cc) ? cc : null);
            }
            w.WriteEndArray();
        }
        w.WriteStartArray("messages"u8);
        foreach (var (role, blocks) in turns)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, role);
            w.WriteStartArray("content"u8);
            foreach (var b in blocks) b(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static IEnumerable<Action<Utf8JsonWriter>> UserBlocks(JsonElement content, string at)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            var s = content.GetString()!;
            yield return w => TextBlock(w, s, null);
            yield break;
        }
        if (content.ValueKind != JsonValueKind.Array) yield break;
        var j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var type = part.TryGetProperty("type", out var pt) ? pt.GetString() : null;
            var path = $"{at}.content[{j++}]";
            switch (type)
            {
                case "text":
                    var text = part.GetProperty("text").GetString() ?? "";
                    JsonElement? cc = part.TryGetProperty("cache_control", out var c) ? c.Clone() : null;
                    yield return w => TextBlock(w, text, cc);
                    break;
                case "image_url":
                    var url = part.GetProperty("image_url").GetProperty("url").GetString() ?? "";
                    yield return w => ImageBlock(w, url, path);
                    break;
                case "file" when part.TryGetProperty("file", out var file) && file.TryGetProperty("file_data", out var fd):
                    var data = fd.GetString() ?? "";
                    yield return w => SourceBlock(w, "document", data, path + ".file.file_data");
                    break;
                default:
                    throw new TranslationException(GatewayError.Invalid($"Content parts of type '{type}' cannot be sent to Anthropic models.", path + ".type", "unsupported_parameter"));
            }
        }
    }

    private static IEnumerable<Action<Utf8JsonWriter>> AssistantBlocks(JsonElement m, JsonElement content)
    {
        if (m.TryGetProperty("thinking_blocks", out var tbs) && tbs.ValueKind == JsonValueKind.Array)
        {
            foreach (var tb in tbs.EnumerateArray())
            {
                var block = tb.Clone();
                var type = block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type", out var tt) && tt.ValueKind == JsonValueKind.String ? tt.GetString() : null;
                // Gemini's text signatures ride in thinking_blocks too; Anthropic would refuse them.
                var signed = type is not null && block.TryGetProperty("signature", out var sig) && sig.ValueKind == JsonValueKind.String && sig.GetString()!.Length > 0
                    && GeminiJson.TextSignature(sig.GetString()) is null;
                if (type == "redacted_thinking" || (type == "thinking" && signed))
                {
                    yield return w => block.WriteTo(w);
                }
            }
        }
        var text = TextOf(content);
        if (text.Length > 0) yield return w => TextBlock(w, text, null);
        if (m.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            foreach (var call in calls.EnumerateArray())
            {
                var id = call.GetProperty("id").GetString();
                var fn = call.GetProperty("function");
                var name = fn.GetProperty("name").GetString();
                var args = fn.TryGetProperty("arguments", out var a) ? a.GetString() : null;
                yield return w =>
                {
                    w.WriteStartObject();
                    w.WriteString("type"u8, "tool_use"u8);
                    w.WriteString("id"u8, id);
                    w.WriteString("name"u8, name);
                    w.WritePropertyName("input"u8);
                    OpenAiToAnthropicResponse.WriteArguments(w, args);
                    w.WriteEndObject();
                };
            }
        }
    }

    /// <summary>
    /// Writes <c>tools</c> and <c>tool_choice</c>; true when structured output is emulated with the <c>json_output</c>
    /// tool. That tool is forced only when it is the only tool and thinking is off: Anthropic refuses a forced tool
    /// with thinking, and forcing it would keep the caller's own tools from being called. Otherwise it is offered next
    /// to them under the caller's <c>tool_choice</c> (default auto).
    /// </summary>
    private static bool WriteTools(Utf8JsonWriter w, JsonElement root, bool thinking)
    {
        var format = root.TryGetProperty("response_format", out var rf) && rf.ValueKind == JsonValueKind.Object && rf.TryGetProperty("type", out var rft)
            && rft.ValueKind == JsonValueKind.String ? rft.GetString() : null;
        var emulate = format is "json_schema" or "json_object";
        var hasTools = root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0;
        if (hasTools || emulate)
        {
            w.WriteStartArray("tools"u8);
            if (hasTools)
            {
                foreach (var tool in tools.EnumerateArray())
                {
                    if (!tool.TryGetProperty("function", out var fn))
                    {
                        // The parser admits other tool types (OpenAI's custom tools) for OpenAI-compatible vendors.
                        throw new TranslationException(GatewayError.Unsupported("tools", "Anthropic models (only function tools)"));
                    }
                    w.WriteStartObject();
                    w.WriteString("name"u8, fn.GetProperty("name").GetString());
                    if (fn.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
                    w.WritePropertyName("input_schema"u8);
                    if (fn.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object) p.WriteTo(w);
                    else w.WriteRawValue("""{"type":"object","properties":{}}""");
                    if (tool.TryGetProperty("cache_control", out var cc)) { w.WritePropertyName("cache_control"u8); cc.WriteTo(w); }
                    w.WriteEndObject();
                }
            }
            if (emulate)
            {
                w.WriteStartObject();
                w.WriteString("name"u8, JsonToolName);
                w.WriteString("description"u8, "Respond with the answer as this tool's input."u8);
                w.WritePropertyName("input_schema"u8);
                if (format == "json_schema" && rf.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object
                    && js.TryGetProperty("schema", out var schema)) schema.WriteTo(w);
                else w.WriteRawValue("""{"type":"object"}""");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        var noParallel = root.TryGetProperty("parallel_tool_calls", out var ptc) && ptc.ValueKind == JsonValueKind.False;
        if (emulate && !hasTools && !thinking)
        {
            w.WriteStartObject("tool_choice"u8);
            w.WriteString("type"u8, "tool"u8);
            w.WriteString("name"u8, JsonToolName);
            w.WriteEndObject();
            return true;
        }
        if (root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            w.WriteStartObject("tool_choice"u8);
            if (choice.ValueKind == JsonValueKind.String)
            {
                w.WriteString("type"u8, choice.GetString() switch { "required" => "any", "none" => "none", _ => "auto" });
            }
            else
            {
                w.WriteString("type"u8, "tool"u8);
                w.WriteString("name"u8, choice.GetProperty("function").GetProperty("name").GetString());
            }
            if (noParallel) w.WriteBoolean("disable_parallel_tool_use"u8, true);
            w.WriteEndObject();
        }
        else if (noParallel && hasTools)
        {
            w.WriteStartObject("tool_choice"u8);
            w.WriteString("type"u8, "auto"u8);
            w.WriteBoolean("disable_parallel_tool_use"u8, true);
            w.WriteEndObject();
        }
        return emulate;
    }

    private static void TextBlock(Utf8JsonWriter w, string text, JsonElement? cacheControl)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "text"u8);
        w.WriteString("text"u8, text);
        if (cacheControl is { ValueKind: JsonValueKind.Object } cc) { w.WritePropertyName("cache_control"u8); cc.WriteTo(w); }
        w.WriteEndObject();
    }

    private static void ImageBlock(Utf8JsonWriter w, string url, string path)
    {
        if (url.StartsWith("data:", StringComparison.Ordinal))
        {
            SourceBlock(w, "image", url, path + ".image_url.url");
            return;
        }
        w.WriteStartObject();
        w.WriteString("type"u8, "image"u8);
        w.WriteStartObject("source"u8);
        w.WriteString("type"u8, "url"u8);
        w.WriteString("url"u8, url);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void SourceBlock(Utf8JsonWriter w, string type, string dataUrl, string path)
    {
        var comma = dataUrl.IndexOf(',', StringComparison.Ordinal);
        var header = comma > 5 ? dataUrl[5..comma] : "";
        if (!header.EndsWith(";base64", StringComparison.Ordinal))
        {
            throw new TranslationException(GatewayError.Invalid($"'{path}' must be a base64 data URL (data:<media type>;base64,...).", path, "invalid_value"));
        }
        w.WriteStartObject();
        w.WriteString("type"u8, type);
        w.WriteStartObject("source"u8);
        w.WriteString("type"u8, "base64"u8);
        w.WriteString("media_type"u8, header[..^7]);
        w.WriteString("data"u8, dataUrl[(comma + 1)..]);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string TextOf(JsonElement content) => content.ValueKind switch
    {
        JsonValueKind.String => content.GetString()!,
        JsonValueKind.Array => string.Concat(content.EnumerateArray()
            .Where(p => p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => "",
    };
}
