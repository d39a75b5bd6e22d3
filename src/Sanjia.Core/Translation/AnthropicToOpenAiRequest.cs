using System.Buffers;
using System.Text.Json;
using Sanjia.Abstractions;
using Sanjia.Core.Json;

namespace Sanjia.Core.Translation;

/// <summary>
/// Translates an Anthropic Messages request into the engine's OpenAI Chat Completions body.
/// System blocks become a system message; <c>tool_result</c> blocks become <c>tool</c> messages (placed before the
/// rest of their user turn, as OpenAI requires tool answers right after the assistant's calls); <c>tool_use</c>
/// blocks become <c>tool_calls</c>; thinking blocks ride along as <c>reasoning_content</c> plus
/// <c>thinking_blocks</c> (with signatures) so an Anthropic backend later in the conversation gets them back intact.
/// <c>top_k</c> and <c>thinking</c> are carried as extension fields for backends that understand them.
/// </summary>
public static class AnthropicToOpenAiRequest
{

    /// <summary>Top-level fields accepted without translation because they change nothing the client can observe.</summary>
    private static readonly HashSet<string> Ignorable = new(StringComparer.Ordinal) { "container", "anthropic_version" };

    public readonly record struct Result(byte[]? Body, GatewayError? Error, AnthropicRequest? Request);

    /// <param name="countOnly">For <c>count_tokens</c>: <c>max_tokens</c> is not required.</param>
    public static Result Translate(ReadOnlySpan<byte> body, bool countOnly = false)
    {
        AnthropicRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(body, AnthropicJsonContext.Default.AnthropicRequest);
        }
        catch (JsonException ex)
        {
            if (JsonNesting.TooDeep(body) is { } tooDeep) return new(null, tooDeep, null);
            var where = ex.Path is { Length: > 1 } p ? $" at {p.TrimStart('$', '.')}" : "";
            return new(null, GatewayError.Invalid($"The request body is not a valid Messages request{where}: expected JSON matching the documented types.", ex.Path?.TrimStart('$', '.'), "invalid_json"), null);
        }
        if (request is null)
        {
            return new(null, GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json"), null);
        }
        var error = Validate(request, countOnly);
        if (error is not null)
        {
            return new(null, error, request);
        }
        try
        {
            return new(Write(request, countOnly), null, request);
        }
        catch (TranslationException ex)
        {
            return new(null, ex.Error, request);
        }
    }

    private static GatewayError? Validate(AnthropicRequest r, bool countOnly)
    {
        if (string.IsNullOrEmpty(r.Model)) return Missing("model");
        if (!countOnly && r.MaxTokens is null) return Missing("max_tokens");
        if (r.MaxTokens is < 1) return GatewayError.Invalid("max_tokens: must be greater than or equal to 1.", "max_tokens", "invalid_value");
        if (r.Messages is null) return Missing("messages");
        if (ThinkingError(r, countOnly) is { } thinkingError) return thinkingError;
        if (r.Temperature is < 0 or > 1) return GatewayError.Invalid("temperature: must be between 0 and 1.", "temperature", "invalid_value");
        if (r.TopP is < 0 or > 1) return GatewayError.Invalid("top_p: must be between 0 and 1.", "top_p", "invalid_value");
        for (var i = 0; i < r.Messages.Count; i++)
        {
            if (r.Messages[i] is null)
            {
                return GatewayError.Invalid($"messages.{i}: Input should be an object with a role and content.", $"messages.{i}", "invalid_type");
            }
            if (r.Messages[i].Role is not ("user" or "assistant"))
            {
                return GatewayError.Invalid($"messages.{i}.role: Input should be 'user' or 'assistant'.", $"messages.{i}.role", "invalid_value");
            }
            if (r.Messages[i].Content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            {
                return GatewayError.Invalid($"messages.{i}.content: Input should be a string or an array of content blocks.", $"messages.{i}.content", "invalid_value");
            }
        }
        if (r.DropParams != true)
        {
            foreach (var name in r.Extra?.Keys ?? Enumerable.Empty<string>())
            {
                if (!Ignorable.Contains(name))
                {
                    return GatewayError.Invalid($"The parameter '{name}' is not supported by this gateway's Messages endpoint. Remove it, or set \"drop_params\": true to have it ignored.", name, "unsupported_parameter");
                }
            }
        }
        return null;
    }

    /// <summary>Extended thinking as Anthropic's API checks it: an enabled budget is required, at least 1024 and below max_tokens.</summary>
    private static GatewayError? ThinkingError(AnthropicRequest r, bool countOnly)
    {
        if (r.Thinking is not { ValueKind: JsonValueKind.Object } thinking || !thinking.TryGetProperty("type"u8, out var type)
            || type.ValueKind != JsonValueKind.String || !type.ValueEquals("enabled"u8))
        {
            return null;
        }
        const string budget = "thinking.enabled.budget_tokens";
        if (!thinking.TryGetProperty("budget_tokens"u8, out var b)) return Missing(budget);
        if (b.ValueKind != JsonValueKind.Number || !b.TryGetInt64(out var tokens))
        {
            return GatewayError.Invalid($"{budget}: Input should be a valid integer", budget, "invalid_type");
        }
        if (tokens < 1024) return GatewayError.Invalid($"{budget}: Input should be greater than or equal to 1024", budget, "invalid_value");
        return !countOnly && r.MaxTokens <= tokens
            ? GatewayError.Invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size", "max_tokens", "invalid_value")
            : null;
    }

    private static GatewayError Missing(string field) =>
        GatewayError.Invalid($"{field}: Field required", field, "missing_required_parameter");

    private static byte[] Write(AnthropicRequest r, bool countOnly)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        var drop = r.DropParams == true;
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("model"u8, r.Model);
            w.WriteStartArray("messages"u8);
            WriteSystem(w, r.System);
            for (var i = 0; i < r.Messages!.Count; i++)
            {
                WriteMessage(w, r.Messages[i], i);
            }
            w.WriteEndArray();
            if (!countOnly && r.MaxTokens is { } max) w.WriteNumber("max_tokens"u8, max);
            if (r.Temperature is { } t) w.WriteNumber("temperature"u8, t);
            if (r.TopP is { } p) w.WriteNumber("top_p"u8, p);
            if (r.TopK is { } k) w.WriteNumber("top_k"u8, k);
            if (r.StopSequences is { Count: > 0 } stops)
            {
                w.WriteStartArray("stop"u8);
                foreach (var s in stops) w.WriteStringValue(s);
                w.WriteEndArray();
            }
            if (r.Stream == true && !countOnly)
            {
                w.WriteBoolean("stream"u8, true);
                w.WriteStartObject("stream_options"u8);
                w.WriteBoolean("include_usage"u8, true);
                w.WriteEndObject();
            }
            if (r.Metadata?.UserId is { } user) w.WriteString("user"u8, user);
            if (r.Thinking is { ValueKind: JsonValueKind.Object } thinking)
            {
                w.WritePropertyName("thinking"u8);
                thinking.WriteTo(w);
            }
            WriteTools(w, r, drop);
            WriteOutputFormat(w, r);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteSystem(Utf8JsonWriter w, JsonElement? system)
    {
        if (system is not { } s || s.ValueKind == JsonValueKind.Null) return;
        if (s.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, "system"u8);
            w.WriteString("content"u8, s.GetString());
            w.WriteEndObject();
            return;
        }
        if (s.ValueKind != JsonValueKind.Array) throw Invalid("system: Input should be a string or an array of text blocks.", "system");
        var blocks = Blocks(s, "system");
        w.WriteStartObject();
        w.WriteString("role"u8, "system"u8);
        w.WriteStartArray("content"u8);
        for (var i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].Type != "text") throw Invalid($"system.{i}.type: only text blocks are allowed in system.", $"system.{i}.type");
            WriteTextPart(w, blocks[i]);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteMessage(Utf8JsonWriter w, AnthropicMessage m, int index)
    {
        if (m.Content.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject();
            w.WriteString("role"u8, m.Role);
            w.WriteString("content"u8, m.Content.GetString());
            w.WriteEndObject();
            return;
        }
        var blocks = Blocks(m.Content, $"messages.{index}.content");
        if (m.Role == "assistant") WriteAssistant(w, blocks, index);
        else WriteUser(w, blocks, index);
    }

    private static void WriteUser(Utf8JsonWriter w, List<AnthropicBlock> blocks, int index)
    {
        // Tool results first: each becomes its own tool message.
        foreach (var b in blocks.Where(b => b.Type == "tool_result"))
        {
            if (string.IsNullOrEmpty(b.ToolUseId)) throw Invalid($"messages.{index}.content: tool_result.tool_use_id: Field required", $"messages.{index}.content");
            w.WriteStartObject();
            w.WriteString("role"u8, "tool"u8);
            w.WriteString("tool_call_id"u8, b.ToolUseId);
            w.WriteString("content"u8, ToolResultText(b, index));
            w.WriteEndObject();
        }
        var rest = blocks.Where(b => b.Type != "tool_result").ToList();
        if (rest.Count == 0 && blocks.Count > 0) return;
        w.WriteStartObject();
        w.WriteString("role"u8, "user"u8);
        w.WriteStartArray("content"u8);
        for (var i = 0; i < rest.Count; i++)
        {
            var b = rest[i];
            switch (b.Type)
            {
                case "text":
                    WriteTextPart(w, b);
                    break;
                case "image":
                    WriteImagePart(w, b, $"messages.{index}.content.{blocks.IndexOf(b)}");
                    break;
                case "document" when b.Source is { Type: "base64" } src:
                    w.WriteStartObject();
                    w.WriteString("type"u8, "file"u8);
                    w.WriteStartObject("file"u8);
                    w.WriteString("file_data"u8, $"data:{src.MediaType};base64,{src.Data}");
                    w.WriteEndObject();
                    w.WriteEndObject();
                    break;
                case "document" when b.Source is { Type: "text" } src:
                    w.WriteStartObject();
                    w.WriteString("type"u8, "text"u8);
                    w.WriteString("text"u8, src.Data);
                    w.WriteEndObject();
                    break;
                default:
                    var at = $"messages.{index}.content.{blocks.IndexOf(b)}.type";
                    throw Invalid($"{at}: content blocks of type '{b.Type}' cannot be sent in a user turn through this gateway.", at);
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static string ToolResultText(AnthropicBlock b, int index)
    {
        var text = b.Content switch
        {
            null or { ValueKind: JsonValueKind.Null } => "",
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { ValueKind: JsonValueKind.Array } a => string.Join("\n", Blocks(a, $"messages.{index}.content")
                .Select(p => p.Type == "text" ? p.Text ?? ""
                    : throw Invalid($"messages.{index}.content: tool_result blocks may only contain text through this gateway (found '{p.Type}').", $"messages.{index}.content"))),
            _ => throw Invalid($"messages.{index}.content: tool_result.content must be a string or an array of blocks.", $"messages.{index}.content"),
        };
        // OpenAI has no error flag on tool messages; say it in the text so the model still sees it.
        return b.IsError == true ? "Error: " + text : text;
    }

    private static void WriteAssistant(Utf8JsonWriter w, List<AnthropicBlock> blocks, int index)
    {
        w.WriteStartObject();
        w.WriteString("role"u8, "assistant"u8);
        var text = string.Concat(blocks.Where(b => b.Type == "text").Select(b => b.Text));
        var toolUses = blocks.Where(b => b.Type is "tool_use").ToList();
        if (text.Length > 0 || toolUses.Count == 0) w.WriteString("content"u8, text);
        else w.WriteNull("content"u8);
        var thinking = blocks.Where(b => b.Type is "thinking" or "redacted_thinking").ToList();
        if (thinking.Count > 0)
        {
            var reasoning = string.Concat(thinking.Select(b => b.Thinking));
            if (reasoning.Length > 0) w.WriteString("reasoning_content"u8, reasoning);
            w.WriteStartArray("thinking_blocks"u8);
            foreach (var b in thinking)
            {
                w.WriteStartObject();
                w.WriteString("type"u8, b.Type);
                if (b.Type == "thinking")
                {
                    w.WriteString("thinking"u8, b.Thinking ?? "");
                    if (b.Signature is not null) w.WriteString("signature"u8, b.Signature);
                }
                else
                {
                    w.WriteString("data"u8, b.Data ?? "");
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        AnthropicJson.WriteToolCalls(w, toolUses);
        foreach (var b in blocks)
        {
            if (b.Type is not ("text" or "tool_use" or "thinking" or "redacted_thinking"))
            {
                var at = $"messages.{index}.content.{blocks.IndexOf(b)}.type";
                throw Invalid($"{at}: content blocks of type '{b.Type}' cannot be sent in an assistant turn through this gateway.", at);
            }
        }
        w.WriteEndObject();
    }

    private static void WriteTextPart(Utf8JsonWriter w, AnthropicBlock b)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "text"u8);
        w.WriteString("text"u8, b.Text ?? "");
        if (b.CacheControl is { ValueKind: JsonValueKind.Object } cc)
        {
            // Kept so an Anthropic backend can still place its cache breakpoints.
            w.WritePropertyName("cache_control"u8);
            cc.WriteTo(w);
        }
        w.WriteEndObject();
    }

    private static void WriteImagePart(Utf8JsonWriter w, AnthropicBlock b, string at)
    {
        var url = b.Source switch
        {
            { Type: "base64", MediaType: { } mt, Data: { } data } => $"data:{mt};base64,{data}",
            { Type: "url", Url: { } u } => u,
            _ => throw Invalid($"{at}.source: expected a base64 source with media_type and data, or a url source.", at + ".source"),
        };
        w.WriteStartObject();
        w.WriteString("type"u8, "image_url"u8);
        w.WriteStartObject("image_url"u8);
        w.WriteString("url"u8, url);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter w, AnthropicRequest r, bool drop)
    {
        var tools = r.Tools ?? [];
        var written = 0;
        for (var i = 0; i < tools.Count; i++)
        {
            var t = tools[i];
            if (t is null) throw Invalid($"tools.{i}: expected an object.", $"tools.{i}");
            if (t.Type is not (null or "custom"))
            {
                if (drop) continue;
                throw Invalid($"tools.{i}: the server tool '{t.Type}' runs only on Anthropic's platform and cannot be offered to other models. Remove it, or set \"drop_params\": true.", $"tools.{i}.type", "unsupported_parameter");
            }
            if (string.IsNullOrEmpty(t.Name)) throw Invalid($"tools.{i}.name: Field required", $"tools.{i}.name");
            if (written++ == 0) w.WriteStartArray("tools"u8);
            w.WriteStartObject();
            w.WriteString("type"u8, "function"u8);
            w.WriteStartObject("function"u8);
            w.WriteString("name"u8, t.Name);
            if (t.Description is not null) w.WriteString("description"u8, t.Description);
            w.WritePropertyName("parameters"u8);
            if (t.InputSchema is { ValueKind: JsonValueKind.Object } schema) schema.WriteTo(w);
            else throw Invalid($"tools.{i}.input_schema: Field required", $"tools.{i}.input_schema");
            w.WriteEndObject();
            if (t.CacheControl is { ValueKind: JsonValueKind.Object } cc)
            {
                w.WritePropertyName("cache_control"u8);
                cc.WriteTo(w);
            }
            w.WriteEndObject();
        }
        if (written > 0) w.WriteEndArray();

        if (r.ToolChoice is { } choice)
        {
            switch (choice.Type)
            {
                case "auto": w.WriteString("tool_choice"u8, "auto"u8); break;
                case "any": w.WriteString("tool_choice"u8, "required"u8); break;
                case "none": w.WriteString("tool_choice"u8, "none"u8); break;
                case "tool" when !string.IsNullOrEmpty(choice.Name):
                    w.WriteStartObject("tool_choice"u8);
                    w.WriteString("type"u8, "function"u8);
                    w.WriteStartObject("function"u8);
                    w.WriteString("name"u8, choice.Name);
                    w.WriteEndObject();
                    w.WriteEndObject();
                    break;
                default:
                    throw Invalid("tool_choice.type: expected 'auto', 'any', 'tool' (with a name) or 'none'.", "tool_choice");
            }
            if (choice.DisableParallelToolUse == true && written > 0) w.WriteBoolean("parallel_tool_calls"u8, false);
        }
    }

    private static void WriteOutputFormat(Utf8JsonWriter w, AnthropicRequest r)
    {
        var format = r.OutputConfig is { ValueKind: JsonValueKind.Object } oc && oc.TryGetProperty("format", out var f) ? f
            : r.OutputFormat is { ValueKind: JsonValueKind.Object } of ? of : default;
        if (format.ValueKind != JsonValueKind.Object) return;
        if (!format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || !type.ValueEquals("json_schema") || !format.TryGetProperty("schema", out var schema))
        {
            throw Invalid("output_config.format: expected {\"type\":\"json_schema\",\"schema\":{...}}.", "output_config.format");
        }
        w.WriteStartObject("response_format"u8);
        w.WriteString("type"u8, "json_schema"u8);
        w.WriteStartObject("json_schema"u8);
        w.WriteString("name"u8, "output"u8);
        w.WritePropertyName("schema"u8);
        schema.WriteTo(w);
        w.WriteBoolean("strict"u8, true);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>An array of content blocks, each an object (a null or a string among them is the caller's error, named).</summary>
    private static List<AnthropicBlock> Blocks(JsonElement array, string at)
    {
        List<AnthropicBlock> blocks;
        try
        {
            blocks = array.Deserialize(AnthropicJsonContext.Default.ListAnthropicBlock) ?? [];
        }
        catch (JsonException)
        {
            throw Invalid($"{at}: every block must be an object with a 'type'.", at);
        }
        var bad = blocks.FindIndex(b => b is null);
        if (bad >= 0) throw Invalid($"{at}.{bad}: every block must be an object with a 'type'.", $"{at}.{bad}");
        // As Anthropic's API: a text block without its text is refused, not sent on as an empty text.
        var textless = blocks.FindIndex(b => b.Type == "text" && b.Text is null);
        if (textless >= 0) throw Invalid($"{at}.{textless}.text: Field required", $"{at}.{textless}.text");
        return blocks;
    }

    private static TranslationException Invalid(string message, string param, string code = "invalid_request") =>
        new(GatewayError.Invalid(message, param, code));
}

/// <summary>Carries a validation failure out of the recursive writers; caught at the translator's entry point.</summary>
internal sealed class TranslationException(GatewayError error) : Exception(error.Message)
{
    public GatewayError Error { get; } = error;
}
