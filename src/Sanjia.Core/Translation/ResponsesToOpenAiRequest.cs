using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates a stateless OpenAI Responses request into the engine's OpenAI Chat Completions body.
/// <c>instructions</c> become a system message; input items become chat messages: consecutive assistant-side items
/// (reasoning, assistant message, function_call) form one assistant message with <c>tool_calls</c>, and each
/// <c>function_call_output</c> a <c>tool</c> message. Reasoning items carry <c>reasoning_content</c> and, from
/// <c>encrypted_content</c> the gateway issued, the signed <c>thinking_blocks</c>, so a conversation can move between
/// models. <c>store</c>/<c>previous_response_id</c> need server-side state the gateway does not keep: 400.
/// </summary>
public static class ResponsesToOpenAiRequest
{
    /// <summary>Top-level fields accepted without translation because they change nothing the client can observe.</summary>
    private static readonly HashSet<string> Ignorable = new(StringComparer.Ordinal)
    {
        "include", "truncation", "service_tier", "prompt_cache_key", "prompt_cache_retention", "stream_options", "top_logprobs",
        "safety_settings", // a Gemini extension, handed on to the Chat body (see below)
    };

    public readonly record struct Result(byte[]? Body, GatewayError? Error, ResponsesRequest? Request);

    public static Result Translate(ReadOnlySpan<byte> body)
    {
        ResponsesRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(body, ResponsesJsonContext.Default.ResponsesRequest);
        }
        catch (JsonException ex)
        {
            if (JsonNesting.TooDeep(body) is { } tooDeep) return new(null, tooDeep, null);
            var where = ex.Path is { Length: > 1 } p ? $" at {p.TrimStart('$', '.')}" : "";
            return new(null, GatewayError.Invalid($"The request body is not a valid Responses request{where}: expected JSON matching the documented types.", ex.Path?.TrimStart('$', '.'), "invalid_json"), null);
        }
        if (request is null)
        {
            return new(null, GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json"), null);
        }
        if (Validate(request) is { } error)
        {
            return new(null, error, request);
        }
        try
        {
            return new(Write(request), null, request);
        }
        catch (TranslationException ex)
        {
            return new(null, ex.Error, request);
        }
    }

    private static GatewayError? Validate(ResponsesRequest r)
    {
        var drop = r.DropParams == true;
        if (string.IsNullOrEmpty(r.Model)) return GatewayError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        if (r.Input is not { ValueKind: not JsonValueKind.Null } input)
        {
            return GatewayError.Invalid("Missing required parameter: 'input' (a string or an array of input items).", "input", "missing_required_parameter");
        }
        if (input.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return GatewayError.Invalid("Invalid type for 'input': expected a string or an array of input items.", "input", "invalid_type");
        }
        if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() == 0)
        {
            // Checked here, or the translated Chat Completions request would be refused naming its 'messages'.
            return GatewayError.Invalid("'input' must contain at least one input item.", "input", "invalid_value");
        }
        if (r.PreviousResponseId is not null)
        {
            return Stateless("previous_response_id", "Send the whole conversation in 'input' instead.");
        }
        if (r.Conversation is { ValueKind: not JsonValueKind.Null })
        {
            return Stateless("conversation", "Send the whole conversation in 'input' instead.");
        }
        if (r.Store == true && !drop)
        {
            return Stateless("store", "Set \"store\": false (or leave it out), or set \"drop_params\": true.");
        }
        if (r.Background == true)
        {
            return GatewayError.Invalid("The parameter 'background' is not supported: this gateway answers every request in the foreground.", "background", "unsupported_parameter");
        }
        if (r.MaxOutputTokens is < 1) return GatewayError.Invalid("max_output_tokens: must be greater than or equal to 1.", "max_output_tokens", "invalid_value");
        if (r.Temperature is < 0 or > 2) return GatewayError.Invalid("temperature: must be between 0 and 2.", "temperature", "invalid_value");
        if (r.TopP is < 0 or > 1) return GatewayError.Invalid("top_p: must be between 0 and 1.", "top_p", "invalid_value");
        if (!drop)
        {
            foreach (var name in r.Extra?.Keys ?? Enumerable.Empty<string>())
            {
                if (!Ignorable.Contains(name))
                {
                    return GatewayError.Invalid($"The parameter '{name}' is not supported by this gateway's Responses endpoint. Remove it, or set \"drop_params\": true to have it ignored.", name, "unsupported_parameter");
                }
            }
        }
        return null;
    }

    private static GatewayError Stateless(string param, string hint) =>
        GatewayError.Invalid($"The parameter '{param}' is not supported: this gateway is stateless and keeps no responses. {hint}", param, "unsupported_parameter");

    private static byte[] Write(ResponsesRequest r)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        var drop = r.DropParams == true;
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("model"u8, r.Model);
            w.WriteStartArray("messages"u8);
            WriteInstructions(w, r.Instructions);
            WriteInput(w, r.Input!.Value);
            w.WriteEndArray();
            if (r.MaxOutputTokens is { } max) w.WriteNumber("max_tokens"u8, max);
            if (r.Temperature is { } t) w.WriteNumber("temperature"u8, t);
            if (r.TopP is { } p) w.WriteNumber("top_p"u8, p);
            if (r.Stream == true)
            {
                w.WriteBoolean("stream"u8, true);
                w.WriteStartObject("stream_options"u8);
                w.WriteBoolean("include_usage"u8, true);
                w.WriteEndObject();
            }
            if ((r.User ?? r.SafetyIdentifier) is { } user) w.WriteString("user"u8, user);
            if (r.Reasoning?.Effort is { } effort) w.WriteString("reasoning_effort"u8, effort);
            var tools = WriteTools(w, r.Tools, drop);
            WriteToolChoice(w, r.ToolChoice, drop);
            if (r.ParallelToolCalls is { } parallel && tools > 0) w.WriteBoolean("parallel_tool_calls"u8, parallel);
            WriteFormat(w, r.Text?.Format);
            if (r.Extra?.TryGetValue("safety_settings", out var safety) == true)
            {
                // Gemini's safetySettings, carried as the same extension field Chat requests use.
                w.WritePropertyName("safety_settings"u8);
                safety.WriteTo(w);
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteInstructions(Utf8JsonWriter w, JsonElement? instructions)
    {
        switch (instructions)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return;
            case { ValueKind: JsonValueKind.String } s:
                w.WriteStartObject();
                w.WriteString("role"u8, "system"u8);
                w.WriteString("content"u8, s.GetString());
                w.WriteEndObject();
                return;
            case { ValueKind: JsonValueKind.Array } items:
                WriteItems(w, items, "instructions");
                return;
            default:
                throw Invalid("instructions: expected a string.", "instructions");
        }
    }

    private static void WriteInput(Utf8JsonWriter w, JsonElement input)
    {
        if (input.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, "user"u8);
            w.WriteString("content"u8, input.GetString());
            w.WriteEndObject();
            return;
        }
        WriteItems(w, input, "input");
    }

    /// <summary>Assistant-side items collected until something from another role comes.</summary>
    private sealed class PendingAssistant
    {
        public string Text = "";
        public string? Refusal;
        public string Reasoning = "";
        public List<OpenAiThinkingBlock> Thinking { get; } = [];
        public List<ResponsesInputItem> Calls { get; } = [];
        public bool Any;
    }

    private static void WriteItems(Utf8JsonWriter w, JsonElement array, string at)
    {
        List<ResponsesInputItem> items;
        try
        {
            items = array.Deserialize(ResponsesJsonContext.Default.ListResponsesInputItem) ?? [];
        }
        catch (JsonException ex)
        {
            throw Invalid($"{at}: every input item must be an object of the documented shape ({ex.Message}).", at);
        }
        var pending = new PendingAssistant();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var path = $"{at}[{i}]";
            if (item is null) throw Invalid($"{path}: every input item must be an object.", path);
            var type = item.Type ?? (item.Role is not null ? "message" : null);
            switch (type)
            {
                case "message" when item.Role == "assistant":
                    var (text, refusal) = AssistantText(item.Content, path);
                    pending.Text += text;
                    pending.Refusal ??= refusal;
                    pending.Any = true;
                    break;
                case "message":
                    Flush(w, ref pending);
                    WriteMessage(w, item, path);
                    break;
                case "function_call":
                    if (string.IsNullOrEmpty(item.CallId)) throw Invalid($"{path}.call_id: Missing required parameter.", $"{path}.call_id");
                    if (string.IsNullOrEmpty(item.Name)) throw Invalid($"{path}.name: Missing required parameter.", $"{path}.name");
                    pending.Calls.Add(item);
                    pending.Any = true;
                    break;
                case "reasoning":
                    AddReasoning(pending, item);
                    break;
                case "function_call_output":
                    Flush(w, ref pending);
                    if (string.IsNullOrEmpty(item.CallId)) throw Invalid($"{path}.call_id: Missing required parameter.", $"{path}.call_id");
                    w.WriteStartObject();
                    w.WriteString("role"u8, "tool"u8);
                    w.WriteString("tool_call_id"u8, item.CallId);
                    w.WriteString("content"u8, OutputText(item.Output, path));
                    w.WriteEndObject();
                    break;
                case "item_reference":
                    throw Invalid($"{path}: item references need stored responses, which this stateless gateway does not keep. Send the item itself.", $"{path}.type", "unsupported_parameter");
                case null:
                    throw Invalid($"{path}.type: Missing required parameter.", $"{path}.type");
                default:
                    throw Invalid($"{path}.type: input items of type '{type}' belong to built-in tools and cannot be sent through this gateway.", $"{path}.type", "unsupported_parameter");
            }
        }
        Flush(w, ref pending);
    }

    private static void AddReasoning(PendingAssistant pending, ResponsesInputItem item)
    {
        var texts = new List<string>();
        if (item.Content is { ValueKind: JsonValueKind.Array } content)
        {
            texts.AddRange((content.Deserialize(ResponsesJsonContext.Default.ListResponsesContentPart) ?? [])
                .Where(p => p.Type == "reasoning_text" && p.Text is not null).Select(p => p.Text!));
        }
        if (texts.Count == 0)
        {
            texts.AddRange((item.Summary ?? []).Where(p => p.Text is not null).Select(p => p.Text!));
        }
        pending.Reasoning += string.Concat(texts);
        if (ResponsesJson.DecodeThinking(item.EncryptedContent) is { } blocks) pending.Thinking.AddRange(blocks);
        pending.Any = true;
    }

    private static void Flush(Utf8JsonWriter w, ref PendingAssistant pending)
    {
        if (!pending.Any) return;
        var p = pending;
        pending = new PendingAssistant();
        w.WriteStartObject();
        w.WriteString("role"u8, "assistant"u8);
        if (p.Text.Length > 0 || p.Calls.Count == 0) w.WriteString("content"u8, p.Text);
        else w.WriteNull("content"u8);
        if (p.Refusal is not null) w.WriteString("refusal"u8, p.Refusal);
        if (p.Reasoning.Length > 0) w.WriteString("reasoning_content"u8, p.Reasoning);
        if (p.Thinking.Count > 0)
        {
            w.WritePropertyName("thinking_blocks"u8);
            JsonSerializer.Serialize(w, p.Thinking, ResponsesJsonContext.Default.ListOpenAiThinkingBlock);
        }
        if (p.Calls.Count > 0)
        {
            w.WriteStartArray("tool_calls"u8);
            foreach (var c in p.Calls)
            {
                w.WriteStartObject();
                w.WriteString("id"u8, c.CallId);
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, c.Name);
                w.WriteString("arguments"u8, string.IsNullOrEmpty(c.Arguments) ? "{}" : c.Arguments);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteMessage(Utf8JsonWriter w, ResponsesInputItem item, string path)
    {
        var role = item.Role switch
        {
            "user" => "user",
            "system" => "system",
            "developer" => "developer",
            _ => throw Invalid($"{path}.role: expected 'user', 'assistant', 'system' or 'developer'.", $"{path}.role", "invalid_value"),
        };
        w.WriteStartObject();
        w.WriteString("role"u8, role);
        switch (item.Content)
        {
            case { ValueKind: JsonValueKind.String } s:
                w.WriteString("content"u8, s.GetString());
                break;
            case { ValueKind: JsonValueKind.Array } a:
                var parts = Parts(a, path);
                if (role != "user")
                {
                    // System and developer messages take text only.
                    w.WriteString("content"u8, string.Concat(parts.Select((p, j) => p.Type is "input_text" or "output_text" ? p.Text
                        : throw Invalid($"{path}.content[{j}].type: only text is allowed in {role} messages.", $"{path}.content[{j}].type"))));
                    break;
                }
                w.WriteStartArray("content"u8);
                for (var j = 0; j < parts.Count; j++) WriteUserPart(w, parts[j], $"{path}.content[{j}]");
                w.WriteEndArray();
                break;
            default:
                throw Invalid($"{path}.content: expected a string or an array of content parts.", $"{path}.content");
        }
        w.WriteEndObject();
    }

    private static void WriteUserPart(Utf8JsonWriter w, ResponsesContentPart part, string at)
    {
        w.WriteStartObject();
        switch (part.Type)
        {
            case "input_text":
                w.WriteString("type"u8, "text"u8);
                w.WriteString("text"u8, part.Text ?? "");
                break;
            case "input_image" when part.ImageUrl is not null:
                w.WriteString("type"u8, "image_url"u8);
                w.WriteStartObject("image_url"u8);
                w.WriteString("url"u8, part.ImageUrl);
                if (part.Detail is not null) w.WriteString("detail"u8, part.Detail);
                w.WriteEndObject();
                break;
            case "input_file" when part.FileData is not null:
                w.WriteString("type"u8, "file"u8);
                w.WriteStartObject("file"u8);
                w.WriteString("file_data"u8, part.FileData);
                if (part.Filename is not null) w.WriteString("filename"u8, part.Filename);
                w.WriteEndObject();
                break;
            case "input_image" or "input_file" when part.FileId is not null:
                throw Invalid($"{at}.file_id: files uploaded to OpenAI cannot be read through this gateway. Send the image as a URL or a base64 data URL.", $"{at}.file_id", "unsupported_parameter");
            case "input_image":
                throw Invalid($"{at}.image_url: Missing required parameter.", $"{at}.image_url");
            case "input_file":
                throw Invalid($"{at}.file_data: Missing required parameter (a base64 data URL).", $"{at}.file_data");
            default:
                throw Invalid($"{at}.type: content parts of type '{part.Type}' cannot be sent in a user message.", $"{at}.type", "invalid_value");
        }
        w.WriteEndObject();
    }

    private static (string Text, string? Refusal) AssistantText(JsonElement? content, string path)
    {
        switch (content)
        {
            case { ValueKind: JsonValueKind.String } s:
                return (s.GetString()!, null);
            case { ValueKind: JsonValueKind.Array } a:
                var parts = Parts(a, path);
                string? refusal = null;
                var text = "";
                for (var j = 0; j < parts.Count; j++)
                {
                    switch (parts[j].Type)
                    {
                        case "output_text" or "input_text": text += parts[j].Text; break;
                        case "refusal": refusal = parts[j].Refusal; break;
                        default: throw Invalid($"{path}.content[{j}].type: assistant messages hold output_text or refusal parts.", $"{path}.content[{j}].type", "invalid_value");
                    }
                }
                return (text, refusal);
            default:
                throw Invalid($"{path}.content: expected a string or an array of content parts.", $"{path}.content");
        }
    }

    private static string OutputText(JsonElement? output, string path) => output switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Array } a => string.Join("\n", Parts(a, path).Select((p, j) => p.Type is "input_text" or "output_text" ? p.Text ?? ""
            : throw Invalid($"{path}.output[{j}].type: function outputs may only contain text through this gateway (found '{p.Type}').", $"{path}.output[{j}].type"))),
        _ => throw Invalid($"{path}.output: Missing required parameter (a string).", $"{path}.output"),
    };

    private static List<ResponsesContentPart> Parts(JsonElement array, string path)
    {
        try
        {
            var parts = array.Deserialize(ResponsesJsonContext.Default.ListResponsesContentPart) ?? [];
            var bad = parts.FindIndex(p => p is null);
            if (bad >= 0) throw Invalid($"{path}.content[{bad}]: every part must be an object with a 'type'.", $"{path}.content[{bad}]");
            return parts;
        }
        catch (JsonException)
        {
            throw Invalid($"{path}.content: every part must be an object with a 'type'.", $"{path}.content");
        }
    }

    private static int WriteTools(Utf8JsonWriter w, List<ResponsesTool>? tools, bool drop)
    {
        var written = 0;
        for (var i = 0; i < (tools?.Count ?? 0); i++)
        {
            var t = tools![i];
            if (t is null) throw Invalid($"tools[{i}]: expected an object.", $"tools[{i}]");
            if (t.Type != "function")
            {
                if (drop) continue;
                throw Invalid($"tools[{i}]: the built-in tool '{t.Type}' runs only on OpenAI's platform and cannot be offered to other models. Remove it, or set \"drop_params\": true.", $"tools[{i}].type", "unsupported_parameter");
            }
            if (string.IsNullOrEmpty(t.Name)) throw Invalid($"tools[{i}].name: Missing required parameter.", $"tools[{i}].name");
            if (written++ == 0) w.WriteStartArray("tools"u8);
            w.WriteStartObject();
            w.WriteString("type"u8, "function"u8);
            w.WriteStartObject("function"u8);
            w.WriteString("name"u8, t.Name);
            if (t.Description is not null) w.WriteString("description"u8, t.Description);
            w.WritePropertyName("parameters"u8);
            if (t.Parameters is { ValueKind: JsonValueKind.Object } schema) schema.WriteTo(w);
            else w.WriteRawValue("""{"type":"object","properties":{}}"""u8);
            if (t.Strict is { } strict) w.WriteBoolean("strict"u8, strict);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        if (written > 0) w.WriteEndArray();
        return written;
    }

    private static void WriteToolChoice(Utf8JsonWriter w, JsonElement? choice, bool drop)
    {
        switch (choice)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return;
            case { ValueKind: JsonValueKind.String } s when s.GetString() is "auto" or "none" or "required":
                w.WriteString("tool_choice"u8, s.GetString());
                return;
            case { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("function")
                && o.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String:
                w.WriteStartObject("tool_choice"u8);
                w.WriteString("type"u8, "function"u8);
                w.WriteStartObject("function"u8);
                w.WriteString("name"u8, name.GetString());
                w.WriteEndObject();
                w.WriteEndObject();
                return;
            case { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && !type.ValueEquals("function"):
                if (drop) return;
                throw Invalid($"tool_choice: '{type.GetString()}' cannot be honoured by this gateway (it forces a built-in tool or needs OpenAI's platform). Use 'auto', 'none', 'required' or a function, or set \"drop_params\": true.", "tool_choice", "unsupported_parameter");
            default:
                throw Invalid("tool_choice: expected 'auto', 'none', 'required' or {\"type\":\"function\",\"name\":...}.", "tool_choice", "invalid_value");
        }
    }

    private static void WriteFormat(Utf8JsonWriter w, JsonElement? format)
    {
        if (format is not { ValueKind: JsonValueKind.Object } f) return;
        var type = f.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "text":
                return;
            case "json_object":
                w.WriteStartObject("response_format"u8);
                w.WriteString("type"u8, "json_object"u8);
                w.WriteEndObject();
                return;
            case "json_schema":
                if (!f.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid("text.format.schema: Missing required parameter.", "text.format.schema", "missing_required_parameter");
                }
                w.WriteStartObject("response_format"u8);
                w.WriteString("type"u8, "json_schema"u8);
                w.WriteStartObject("json_schema"u8);
                w.WriteString("name"u8, f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : "output");
                if (f.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) w.WriteString("description"u8, d.GetString());
                w.WritePropertyName("schema"u8);
                schema.WriteTo(w);
                if (f.TryGetProperty("strict", out var strict) && strict.ValueKind is JsonValueKind.True or JsonValueKind.False) w.WriteBoolean("strict"u8, strict.GetBoolean());
                w.WriteEndObject();
                w.WriteEndObject();
                return;
            default:
                throw Invalid("text.format.type: expected 'text', 'json_object' or 'json_schema'.", "text.format.type", "invalid_value");
        }
    }

    private static TranslationException Invalid(string message, string param, string code = "invalid_request") =>
        new(GatewayError.Invalid(message, param, code));
}
