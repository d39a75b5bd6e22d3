using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates the engine's OpenAI Chat Completions body into a Gemini <c>generateContent</c> request:
/// system/developer messages → <c>systemInstruction</c>; <c>assistant</c> → role <c>model</c> with <c>functionCall</c>
/// parts (thought signatures restored from the tool call ids); <c>tool</c> messages → <c>functionResponse</c> parts of
/// one user turn; consecutive same-role turns merged (Gemini wants user/model alternation); images as
/// <c>inlineData</c> (data URLs) or <c>fileData</c> (other URLs); tools → <c>functionDeclarations</c> with their JSON
/// Schema as <c>parametersJsonSchema</c>; <c>tool_choice</c> → <c>functionCallingConfig</c>; JSON mode and JSON schema →
/// <c>responseMimeType</c> + <c>responseJsonSchema</c>; sampling and limits → <c>generationConfig</c>. Reasoning text
/// from earlier turns is not sent back (Gemini keeps its thoughts behind the signatures).
/// </summary>
public static class OpenAiToGeminiRequest
{
    /// <summary>OpenAI fields that are translated, or handled by the gateway itself.</summary>
    private static readonly HashSet<string> Handled = new(StringComparer.Ordinal)
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "stop", "stream",
        "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "metadata", "n", "seed",
        "presence_penalty", "frequency_penalty", "reasoning_effort", "drop_params", "store", "service_tier", "safety_settings",
        "thinking",
    };

    /// <summary>The largest thinking budget every Gemini 2.5 model accepts (Flash: 0–24576; Pro: 128–32768).</summary>
    private const int MaxThinkingBudget = 24576;

    public readonly record struct Result(byte[]? Body, GatewayError? Error);

    public static Result Translate(ReadOnlySpan<byte> openAiBody, string backend, bool dropUnsupported)
    {
        using var doc = JsonDocument.Parse(openAiBody.ToArray());
        var root = doc.RootElement;
        dropUnsupported |= root.TryGetProperty("drop_params", out var dp) && dp.ValueKind == JsonValueKind.True;
        foreach (var p in root.EnumerateObject())
        {
            if (!Handled.Contains(p.Name) && p.Value.ValueKind != JsonValueKind.Null && !dropUnsupported)
            {
                return new(null, GatewayError.Unsupported(p.Name, backend));
            }
        }
        try
        {
            var buffer = new ArrayBufferWriter<byte>(1024);
            using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
            {
                Write(w, root);
            }
            return new(buffer.WrittenSpan.ToArray(), null);
        }
        catch (TranslationException ex)
        {
            return new(null, ex.Error);
        }
    }

    private sealed record Turn(string Role, List<Action<Utf8JsonWriter>> Parts);

    private static void Write(Utf8JsonWriter w, JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("messages: Field required", "messages");
        }
        var system = new List<string>();
        var turns = new List<Turn>();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            var role = m.TryGetProperty("role", out var r) ? r.GetString() : null;
            switch (role)
            {
                case "system" or "developer":
                    system.Add(Text(m, at));
                    break;
                case "user":
                    Add(turns, "user", UserParts(m, at));
                    break;
                case "assistant":
                    Add(turns, "model", AssistantParts(m, toolNames));
                    break;
                case "tool":
                    var id = m.TryGetProperty("tool_call_id", out var tid) ? tid.GetString() : null;
                    if (id is null || !toolNames.TryGetValue(id, out var name))
                    {
                        throw Invalid($"{at}.tool_call_id: does not match a tool call of an earlier assistant message (Gemini needs the function's name).", $"{at}.tool_call_id");
                    }
                    var content = Text(m, at);
                    var (geminiId, _) = GeminiJson.SplitToolCallId(id);
                    Add(turns, "user", [pw => FunctionResponse(pw, name, geminiId, content)]);
                    break;
                default:
                    throw Invalid($"{at}.role: expected system, developer, user, assistant or tool.", $"{at}.role");
            }
        }

        w.WriteStartObject();
        w.WriteStartArray("contents"u8);
        foreach (var turn in turns)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, turn.Role);
            w.WriteStartArray("parts"u8);
            foreach (var part in turn.Parts) part(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (system.Count > 0)
        {
            w.WriteStartObject("systemInstruction"u8);
            w.WriteStartArray("parts"u8);
            foreach (var s in system)
            {
                w.WriteStartObject();
                w.WriteString("text"u8, s);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        WriteTools(w, root);
        WriteSafetySettings(w, root);
        WriteGenerationConfig(w, root);
        w.WriteEndObject();
    }

    private static void Add(List<Turn> turns, string role, List<Action<Utf8JsonWriter>> parts)
    {
        if (parts.Count == 0) return;
        if (turns.Count > 0 && turns[^1].Role == role) turns[^1].Parts.AddRange(parts);
        else turns.Add(new Turn(role, parts));
    }

    private static void FunctionResponse(Utf8JsonWriter w, string name, string? id, string content)
    {
        w.WriteStartObject();
        w.WriteStartObject("functionResponse"u8);
        if (id is not null && !id.StartsWith("call_", StringComparison.Ordinal)) w.WriteString("id"u8, id);
        w.WriteString("name"u8, name);
        w.WritePropertyName("response"u8);
        // Gemini wants an object; a JSON object result is passed as is, anything else wrapped.
        if (IsJsonObject(content)) w.WriteRawValue(content);
        else
        {
            w.WriteStartObject();
            w.WriteString("result"u8, content);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static bool IsJsonObject(string s)
    {
        if (!s.TrimStart().StartsWith('{')) return false;
        try
        {
            using var d = JsonDocument.Parse(s);
            return d.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Text(JsonElement m, string at)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw Invalid($"{at}.content: expected a string or an array of parts.", $"{at}.content");
        return string.Concat(c.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : ""));
    }

    private static List<Action<Utf8JsonWriter>> UserParts(JsonElement m, string at)
    {
        var parts = new List<Action<Utf8JsonWriter>>();
        if (!m.TryGetProperty("content", out var c)) return parts;
        if (c.ValueKind == JsonValueKind.String)
        {
            var s = c.GetString();
            parts.Add(w => TextPart(w, s));
            return parts;
        }
        if (c.ValueKind != JsonValueKind.Array) throw Invalid($"{at}.content: expected a string or an array of parts.", $"{at}.content");
        var j = 0;
        foreach (var p in c.EnumerateArray())
        {
            var where = $"{at}.content[{j++}]";
            var type = p.TryGetProperty("type", out var t) ? t.GetString() : null;
            switch (type)
            {
                case "text":
                    var text = p.TryGetProperty("text", out var tx) ? tx.GetString() : "";
                    parts.Add(w => TextPart(w, text));
                    break;
                case "image_url":
                    var url = p.TryGetProperty("image_url", out var iu) && iu.TryGetProperty("url", out var u) ? u.GetString() : null;
                    if (url is null) throw Invalid($"{where}.image_url.url: Field required", $"{where}.image_url.url");
                    parts.Add(w => MediaPart(w, url));
                    break;
                case "file":
                    var data = p.TryGetProperty("file", out var f) && f.TryGetProperty("file_data", out var fd) ? fd.GetString() : null;
                    if (data is null) throw Invalid($"{where}.file.file_data: only inline (base64 data URL) files can be sent to Gemini.", $"{where}.file");
                    parts.Add(w => MediaPart(w, data));
                    break;
                default:
                    throw Invalid($"{where}.type: content parts of type '{type}' cannot be sent to Gemini.", $"{where}.type");
            }
        }
        return parts;
    }

    private static void TextPart(Utf8JsonWriter w, string? text)
    {
        w.WriteStartObject();
        w.WriteString("text"u8, text ?? "");
        w.WriteEndObject();
    }

    /// <summary>A data URL becomes <c>inlineData</c> (base64); any other URL <c>fileData</c> with a type guessed from its extension.</summary>
    private static void MediaPart(Utf8JsonWriter w, string url)
    {
        w.WriteStartObject();
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase) && url.IndexOf(";base64,", StringComparison.OrdinalIgnoreCase) is var comma and > 0)
        {
            w.WriteStartObject("inlineData"u8);
            w.WriteString("mimeType"u8, url[5..comma]);
            w.WriteString("data"u8, url[(comma + 8)..]);
            w.WriteEndObject();
        }
        else
        {
            var ext = Path.GetExtension(new Uri(url, UriKind.RelativeOrAbsolute).IsAbsoluteUri ? new Uri(url).AbsolutePath : url).ToLowerInvariant();
            w.WriteStartObject("fileData"u8);
            w.WriteString("mimeType"u8, ext switch
            {
                ".png" => "image/png",
                ".gif" => "image/gif",
                ".webp" => "image/webp",
                ".pdf" => "application/pdf",
                _ => "image/jpeg",
            });
            w.WriteString("fileUri"u8, url);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static List<Action<Utf8JsonWriter>> AssistantParts(JsonElement m, Dictionary<string, string> toolNames)
    {
        var parts = new List<Action<Utf8JsonWriter>>();
        var text = Text(m, "assistant");
        if (text.Length > 0)
        {
            // The text answer's own signature, if Gemini gave one, goes back on it (Gemini recommends returning it).
            var signature = TextSignature(m);
            parts.Add(w =>
            {
                w.WriteStartObject();
                w.WriteString("text"u8, text);
                if (signature is not null) w.WriteString("thoughtSignature"u8, signature);
                w.WriteEndObject();
            });
        }
        if (m.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            // Gemini 3 refuses a model step whose first function call has no signature. Calls made by another model
            // (or rebuilt by a client) have none: Google documents a placeholder that skips the check for them.
            var signed = calls.EnumerateArray().Any(c => GeminiJson.SplitToolCallId(c.TryGetProperty("id", out var ci) ? ci.GetString() : null).Signature is not null);
            var first = true;
            foreach (var call in calls.EnumerateArray())
            {
                var id = call.TryGetProperty("id", out var i) ? i.GetString() : null;
                var fn = call.GetProperty("function");
                var name = fn.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
                var args = fn.TryGetProperty("arguments", out var a) ? a.GetString() : null;
                if (id is not null) toolNames[id] = name;
                var (geminiId, signature) = GeminiJson.SplitToolCallId(id);
                if (first && !signed) signature = GeminiJson.SkipSignatureValidation;
                first = false;
                parts.Add(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartObject("functionCall"u8);
                    if (geminiId is not null && !geminiId.StartsWith("call_", StringComparison.Ordinal)) w.WriteString("id"u8, geminiId);
                    w.WriteString("name"u8, name);
                    w.WritePropertyName("args"u8);
                    if (args is not null && IsJsonObject(args)) w.WriteRawValue(args); else w.WriteRawValue("{}"u8);
                    w.WriteEndObject();
                    if (signature is not null) w.WriteString("thoughtSignature"u8, signature);
                    w.WriteEndObject();
                });
            }
        }
        return parts;
    }

    private static string? TextSignature(JsonElement m)
    {
        if (!m.TryGetProperty("thinking_blocks", out var blocks) || blocks.ValueKind != JsonValueKind.Array) return null;
        string? found = null;
        foreach (var b in blocks.EnumerateArray())
        {
            if (b.ValueKind == JsonValueKind.Object && b.TryGetProperty("signature", out var s) && s.ValueKind == JsonValueKind.String)
            {
                found = GeminiJson.TextSignature(s.GetString()) ?? found;
            }
        }
        return found;
    }

    private static void WriteTools(Utf8JsonWriter w, JsonElement root)
    {
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
        {
            w.WriteStartArray("tools"u8);
            w.WriteStartObject();
            w.WriteStartArray("functionDeclarations"u8);
            var i = 0;
            foreach (var t in tools.EnumerateArray())
            {
                if (!t.TryGetProperty("function", out var fn) || !fn.TryGetProperty("name", out var name))
                {
                    throw Invalid($"tools[{i}]: only function tools can be sent to Gemini.", $"tools[{i}]");
                }
                w.WriteStartObject();
                w.WriteString("name"u8, name.GetString());
                if (fn.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
                if (fn.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
                {
                    // parametersJsonSchema takes full JSON Schema; the older `parameters` only an OpenAPI subset.
                    w.WritePropertyName("parametersJsonSchema"u8);
                    p.WriteTo(w);
                }
                w.WriteEndObject();
                i++;
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
        }
        if (root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            string mode;
            string? only = null;
            if (choice.ValueKind == JsonValueKind.String)
            {
                mode = choice.GetString() switch
                {
                    "auto" => "AUTO",
                    "none" => "NONE",
                    "required" => "ANY",
                    var other => throw Invalid($"tool_choice: '{other}' is not one of auto, none, required.", "tool_choice"),
                };
            }
            else if (choice.TryGetProperty("function", out var f) && f.TryGetProperty("name", out var n))
            {
                mode = "ANY";
                only = n.GetString();
            }
            else
            {
                throw Invalid("tool_choice: expected auto, none, required or {\"type\":\"function\",\"function\":{\"name\"}}.", "tool_choice");
            }
            w.WriteStartObject("toolConfig"u8);
            w.WriteStartObject("functionCallingConfig"u8);
            w.WriteString("mode"u8, mode);
            if (only is not null)
            {
                w.WriteStartArray("allowedFunctionNames"u8);
                w.WriteStringValue(only);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// The extension field <c>safety_settings</c> (LiteLLM's name for it) goes to Gemini's <c>safetySettings</c> as
    /// given: an array of <c>{"category","threshold"}</c> objects, checked only for shape (Gemini validates the values).
    /// </summary>
    private static void WriteSafetySettings(Utf8JsonWriter w, JsonElement root)
    {
        if (!root.TryGetProperty("safety_settings", out var settings) || settings.ValueKind == JsonValueKind.Null) return;
        if (settings.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("safety_settings: expected an array of {\"category\", \"threshold\"} objects (Gemini's safetySettings).", "safety_settings");
        }
        var i = 0;
        foreach (var s in settings.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Object || !s.TryGetProperty("category", out var c) || c.ValueKind != JsonValueKind.String
                || !s.TryGetProperty("threshold", out var t) || t.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"safety_settings[{i}]: expected an object with string fields 'category' and 'threshold', e.g. {{\"category\":\"HARM_CATEGORY_HARASSMENT\",\"threshold\":\"BLOCK_ONLY_HIGH\"}}.", $"safety_settings[{i}]");
            }
            i++;
        }
        w.WritePropertyName("safetySettings"u8);
        settings.WriteTo(w);
    }

    private static void WriteGenerationConfig(Utf8JsonWriter w, JsonElement root)
    {
        w.WriteStartObject("generationConfig"u8);
        if (Number(root, "temperature") is { } t) w.WriteNumber("temperature"u8, t);
        if (Number(root, "top_p") is { } p) w.WriteNumber("topP"u8, p);
        if (Number(root, "top_k") is { } k) w.WriteNumber("topK"u8, (int)k);
        if ((Number(root, "max_completion_tokens") ?? Number(root, "max_tokens")) is { } max) w.WriteNumber("maxOutputTokens"u8, (int)max);
        if (Number(root, "n") is { } n and > 1) w.WriteNumber("candidateCount"u8, (int)n);
        if (Number(root, "seed") is { } seed) w.WriteNumber("seed"u8, (long)seed);
        if (Number(root, "presence_penalty") is { } pp) w.WriteNumber("presencePenalty"u8, pp);
        if (Number(root, "frequency_penalty") is { } fp) w.WriteNumber("frequencyPenalty"u8, fp);
        if (root.TryGetProperty("stop", out var stop) && stop.ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            w.WriteStartArray("stopSequences"u8);
            if (stop.ValueKind == JsonValueKind.String) w.WriteStringValue(stop.GetString());
            else foreach (var s in stop.EnumerateArray()) w.WriteStringValue(s.GetString());
            w.WriteEndArray();
        }
        if (root.TryGetProperty("response_format", out var rf) && rf.ValueKind == JsonValueKind.Object && rf.TryGetProperty("type", out var type)
            && type.ValueKind == JsonValueKind.String)
        {
            if (type.ValueEquals("json_object") || type.ValueEquals("json_schema")) w.WriteString("responseMimeType"u8, "application/json"u8);
            if (type.ValueEquals("json_schema") && rf.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object
                && js.TryGetProperty("schema", out var schema))
            {
                w.WritePropertyName("responseJsonSchema"u8);
                schema.WriteTo(w);
            }
        }
        if (root.TryGetProperty("thinking", out var thinking) && thinking.ValueKind == JsonValueKind.Object)
        {
            // Anthropic's thinking (from Messages clients, or OpenAI clients that send it): enabled with a budget →
            // that budget (capped at what every 2.5 model accepts), adaptive → Gemini's dynamic budget (-1), thoughts
            // included either way; disabled → no thinkingConfig (the model's default; some cannot turn thinking off).
            var mode = thinking.TryGetProperty("type", out var tt) && tt.ValueKind == JsonValueKind.String ? tt.GetString() : null;
            int? budget = mode switch
            {
                "enabled" => thinking.TryGetProperty("budget_tokens", out var b) && b.ValueKind == JsonValueKind.Number && b.TryGetInt32(out var tokens)
                    ? Math.Clamp(tokens, 0, MaxThinkingBudget) : -1,
                "adaptive" => -1,
                _ => null,
            };
            if (budget is { } value)
            {
                w.WriteStartObject("thinkingConfig"u8);
                w.WriteNumber("thinkingBudget"u8, value);
                w.WriteBoolean("includeThoughts"u8, true);
                w.WriteEndObject();
            }
        }
        else if (root.TryGetProperty("reasoning_effort", out var effort) && effort.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject("thinkingConfig"u8);
            w.WriteNumber("thinkingBudget"u8, effort.GetString() switch { "minimal" or "none" => 0, "low" => 1024, "high" => 16384, _ => 4096 });
            w.WriteBoolean("includeThoughts"u8, true);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static TranslationException Invalid(string message, string param) => new(GatewayError.Invalid(message, param));
}
