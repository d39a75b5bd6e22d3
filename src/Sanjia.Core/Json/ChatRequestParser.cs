using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Json;

/// <summary>
/// Reads an OpenAI Chat Completions body in one forward pass: validates it is well-formed JSON, checks the fields
/// the gateway relies on, and records where <c>model</c> sits so it can be rewritten without re-serialising.
/// Unknown fields are left alone (they reach OpenAI-compatible upstreams unchanged).
/// </summary>
public static class ChatRequestParser
{
    // The depth every later reader of the body allows: deeper bodies are refused here, before any of them runs.
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = JsonNesting.MaxDepth, CommentHandling = JsonCommentHandling.Disallow };

    public static (ChatRequest? Request, GatewayError? Error) Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return ParseCore(body);
        }
        catch (JsonException)
        {
            return (null, JsonNesting.TooDeep(body.Span) ?? GatewayError.Invalid("We could not parse the JSON body of your request. Send a valid JSON object.", code: "invalid_json"));
        }
    }

    private static (ChatRequest?, GatewayError?) ParseCore(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return (null, GatewayError.Invalid("The request body must be a JSON object.", code: "invalid_json"));
        }

        string? model = null;
        int modelStart = -1, modelLength = 0;
        bool stream = false, includeUsage = false, hasStreamOptions = false, hasTools = false, hasResponseFormat = false, hasImages = false, sawMessages = false;
        int? maxTokens = null, maxCompletionTokens = null;
        int n = 1;
        double? temperature = null, topP = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("model"u8))
            {
                if (reader.TokenType != JsonTokenType.String) return (null, TypeError("model", "a string"));
                modelStart = (int)reader.TokenStartIndex;
                modelLength = (int)(reader.BytesConsumed - reader.TokenStartIndex);
                model = reader.GetString();
                if (ModelIdError(model) is { } modelError) return (null, modelError);
            }
            else if (name.SequenceEqual("messages"u8))
            {
                sawMessages = true;
                var err = ReadMessages(ref reader, null, ref hasImages);
                if (err is not null) return (null, err);
            }
            else if (name.SequenceEqual("stream"u8))
            {
                if (reader.TokenType is JsonTokenType.True or JsonTokenType.False) stream = reader.GetBoolean();
                else if (reader.TokenType != JsonTokenType.Null) return (null, TypeError("stream", "a boolean"));
            }
            else if (name.SequenceEqual("stream_options"u8))
            {
                if (reader.TokenType == JsonTokenType.Null) continue;
                if (reader.TokenType != JsonTokenType.StartObject) return (null, TypeError("stream_options", "an object"));
                hasStreamOptions = true;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isUsage = reader.ValueTextEquals("include_usage"u8);
                    reader.Read();
                    if (isUsage && reader.TokenType is JsonTokenType.True or JsonTokenType.False) includeUsage = reader.GetBoolean();
                    else reader.Skip();
                }
            }
            else if (name.SequenceEqual("max_tokens"u8))
            {
                if (!TryPositiveInt(ref reader, out maxTokens)) return (null, RangeError("max_tokens", "a positive integer"));
            }
            else if (name.SequenceEqual("max_completion_tokens"u8))
            {
                if (!TryPositiveInt(ref reader, out maxCompletionTokens)) return (null, RangeError("max_completion_tokens", "a positive integer"));
            }
            else if (name.SequenceEqual("n"u8))
            {
                if (!TryPositiveInt(ref reader, out var nv) || nv > 128) return (null, RangeError("n", "an integer from 1 to 128"));
                n = nv ?? 1;
            }
            else if (name.SequenceEqual("temperature"u8))
            {
                if (!TryNumber(ref reader, 0, 2, out temperature)) return (null, RangeError("temperature", "a number from 0 to 2"));
            }
            else if (name.SequenceEqual("top_p"u8))
            {
                if (!TryNumber(ref reader, 0, 1, out topP)) return (null, RangeError("top_p", "a number from 0 to 1"));
            }
            else if (name.SequenceEqual("tools"u8))
            {
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    hasTools = true;
                    var err = CheckTools(ref reader);
                    if (err is not null) return (null, err);
                }
                else if (reader.TokenType != JsonTokenType.Null) return (null, TypeError("tools", "an array"));
            }
            else if (name.SequenceEqual("tool_choice"u8))
            {
                var err = CheckToolChoice(ref reader);
                if (err is not null) return (null, err);
            }
            else if (name.SequenceEqual("response_format"u8))
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    hasResponseFormat = true;
                    var err = CheckResponseFormat(ref reader);
                    if (err is not null) return (null, err);
                }
                else if (reader.TokenType != JsonTokenType.Null) return (null, TypeError("response_format", "an object"));
            }
            else if (name.SequenceEqual("stop"u8))
            {
                var err = CheckStop(ref reader);
                if (err is not null) return (null, err);
            }
            else if (name.SequenceEqual("seed"u8))
            {
                if (reader.TokenType != JsonTokenType.Null && (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out _)))
                    return (null, TypeError("seed", "an integer"));
            }
            else
            {
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return (null, GatewayError.Invalid("Unexpected content after the JSON object.", code: "invalid_json"));
        }
        if (string.IsNullOrEmpty(model))
        {
            return (null, GatewayError.Invalid("You must provide a model parameter.", "model", "missing_required_parameter"));
        }
        if (!sawMessages)
        {
            return (null, GatewayError.Invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter"));
        }

        return (new ChatRequest
        {
            Body = body,
            Model = model,
            ModelValueStart = modelStart,
            ModelValueLength = modelLength,
            Stream = stream,
            IncludeUsage = stream && includeUsage,
            HasStreamOptions = hasStreamOptions,
            MaxTokens = maxCompletionTokens ?? maxTokens,
            N = n,
            Temperature = temperature,
            TopP = topP,
            HasTools = hasTools,
            HasResponseFormat = hasResponseFormat,
            HasImages = hasImages,
            PromptTextReader = ReadPromptText,
        }, null);
    }

    /// <summary>The text of every message of a body that <see cref="Parse"/> accepted, joined by newlines.</summary>
    public static string ReadPromptText(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        var prompt = new StringBuilder();
        var images = false;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessages = reader.ValueTextEquals("messages"u8);
            reader.Read();
            if (isMessages)
            {
                ReadMessages(ref reader, prompt, ref images);
            }
            else
            {
                reader.Skip();
            }
        }
        return prompt.ToString();
    }

    // Validates the messages; with a builder, also collects their text.
    private static GatewayError? ReadMessages(ref Utf8JsonReader reader, StringBuilder? prompt, ref bool hasImages)
    {
        if (reader.TokenType != JsonTokenType.StartArray) return TypeError("messages", "an array");
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return TypeError(Message(index), "an object");
            var hasRole = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("role"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) return TypeError(Message(index) + ".role", "a string");
                    var role = reader.ValueSpan;
                    if (!(role.SequenceEqual("system"u8) || role.SequenceEqual("user"u8) || role.SequenceEqual("assistant"u8)
                        || role.SequenceEqual("tool"u8) || role.SequenceEqual("developer"u8) || role.SequenceEqual("function"u8)))
                    {
                        return GatewayError.Invalid($"Invalid value for '{Message(index)}.role': expected one of system, developer, user, assistant, tool.", Message(index) + ".role", "invalid_value");
                    }
                    hasRole = true;
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        prompt?.Append(reader.GetString()).Append('\n');
                    }
                    else if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        var err = ReadParts(ref reader, prompt, index, ref hasImages);
                        if (err is not null) return err;
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        return TypeError(Message(index) + ".content", "a string or an array of content parts");
                    }
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    var err = CheckToolCalls(ref reader, index);
                    if (err is not null) return err;
                }
                else if (reader.ValueTextEquals("tool_call_id"u8) || reader.ValueTextEquals("name"u8))
                {
                    var field = reader.ValueTextEquals("name"u8) ? "name" : "tool_call_id";
                    reader.Read();
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return TypeError($"{Message(index)}.{field}", "a string");
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (!hasRole) return GatewayError.Invalid($"Missing required parameter: '{Message(index)}.role'.", Message(index) + ".role", "missing_required_parameter");
            index++;
        }
        return index == 0 ? GatewayError.Invalid("'messages' must contain at least one message.", "messages", "invalid_value") : null;
    }

    private static GatewayError? ReadParts(ref Utf8JsonReader reader, StringBuilder? prompt, int message, ref bool hasImages)
    {
        var i = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return TypeError($"{Message(message)}.content[{i}]", "an object");
            string? type = null;
            var hasText = false;
            var hasPayload = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("refusal"u8))
                {
                    var field = reader.ValueTextEquals("text"u8) ? "text" : "refusal";
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String) { prompt?.Append(reader.GetString()).Append('\n'); hasText = true; }
                    else if (reader.TokenType != JsonTokenType.Null) return TypeError($"{Message(message)}.content[{i}].{field}", "a string");
                }
                else if (reader.ValueTextEquals("image_url"u8) || reader.ValueTextEquals("file"u8) || reader.ValueTextEquals("input_audio"u8))
                {
                    var field = reader.ValueTextEquals("image_url"u8) ? "image_url" : reader.ValueTextEquals("file"u8) ? "file" : "input_audio";
                    reader.Read();
                    if (CheckStringFields(ref reader, requireUrl: field == "image_url") is { } bad)
                        return FunctionError($"{Message(message)}.content[{i}].{field}", bad);
                    hasPayload |= reader.TokenType == JsonTokenType.EndObject;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            switch (type)
            {
                case "text" or "refusal":
                    if (!hasText) return Missing($"{Message(message)}.content[{i}].{type}");
                    break;
                case "image_url" or "input_image":
                    if (type == "image_url" && !hasPayload) return Missing($"{Message(message)}.content[{i}].image_url");
                    hasImages = true;
                    break;
                case "input_audio" or "file":
                    if (!hasPayload) return Missing($"{Message(message)}.content[{i}].{type}");
                    break;
                default:
                    return GatewayError.Invalid($"Invalid value for '{Message(message)}.content[{i}].type': '{type}'. Expected text, image_url, input_audio or file.", $"{Message(message)}.content[{i}].type", "invalid_value");
            }
            i++;
        }
        return null;
    }

    // Built only when reporting an error: the happy path allocates no paths.
    private static string Message(int index) => $"messages[{index}]";

    /// <summary>
    /// Model ids travel in response headers (<c>x-sanjia-deployment</c>), the ledger and vendors' URLs: printable ASCII
    /// only (no control characters, line breaks or non-ASCII), refused before any vendor is called.
    /// </summary>
    public static GatewayError? ModelIdError(string? model) =>
        model is not null && model.AsSpan().IndexOfAnyExceptInRange(' ', '~') >= 0
            ? GatewayError.Invalid("Invalid value for 'model': a model id is printable ASCII, without control characters or line breaks.", "model", "invalid_value")
            : null;

    // The checks below return what is wrong relative to where they start (a field suffix and what was expected), so the
    // caller builds the full path only when there is an error.
    private readonly record struct Bad(string Field, string Expected);

    /// <summary>An image, file or audio part's payload: an object whose known fields, where present, are strings; an image's <c>url</c> is required.</summary>
    private static Bad? CheckStringFields(ref Utf8JsonReader reader, bool requireUrl)
    {
        if (reader.TokenType != JsonTokenType.StartObject) return new("", "an object");
        var hasUrl = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var known = reader.ValueTextEquals("url"u8) || reader.ValueTextEquals("detail"u8) || reader.ValueTextEquals("file_data"u8)
                || reader.ValueTextEquals("file_id"u8) || reader.ValueTextEquals("filename"u8) || reader.ValueTextEquals("data"u8)
                || reader.ValueTextEquals("format"u8);
            var isUrl = reader.ValueTextEquals("url"u8);
            var field = known ? reader.GetString() : null;
            reader.Read();
            if (known && reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return new("." + field, "a string");
            hasUrl |= isUrl && reader.TokenType == JsonTokenType.String;
            reader.Skip();
        }
        return requireUrl && !hasUrl ? new(".url", "") : null;
    }

    /// <summary><c>response_format</c>: a string <c>type</c>; a <c>json_schema</c> object whose <c>schema</c>, when given, is an object.</summary>
    private static GatewayError? CheckResponseFormat(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String) return TypeError("response_format.type", "a string");
            }
            else if (reader.ValueTextEquals("json_schema"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null) continue;
                if (reader.TokenType != JsonTokenType.StartObject) return TypeError("response_format.json_schema", "an object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var field = reader.ValueTextEquals("schema"u8) ? "schema" : reader.ValueTextEquals("name"u8) ? "name" : null;
                    reader.Read();
                    if (field == "schema" && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.Null))
                        return TypeError("response_format.json_schema.schema", "an object");
                    if (field == "name" && reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                        return TypeError("response_format.json_schema.name", "a string");
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return null;
    }

    /// <summary>An assistant message's <c>tool_calls</c>: objects whose <c>function</c> has a string <c>name</c> (and <c>arguments</c>).</summary>
    private static GatewayError? CheckToolCalls(ref Utf8JsonReader reader, int message)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartArray) return TypeError($"{Message(message)}.tool_calls", "an array");
        var i = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return TypeError($"{Message(message)}.tool_calls[{i}]", "an object");
            bool hasFunction = false, hasId = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                Bad? bad = null;
                if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    bad = CheckFunction(ref reader);
                    if (bad is { } b) bad = b with { Field = ".function" + b.Field };
                    hasFunction = true;
                }
                else
                {
                    var field = reader.ValueTextEquals("id"u8) ? ".id" : reader.ValueTextEquals("type"u8) ? ".type" : null;
                    hasId |= field == ".id";
                    reader.Read();
                    if (field is not null && reader.TokenType != JsonTokenType.String) bad = new(field, "a string");
                    reader.Skip();
                }
                if (bad is { } error) return FunctionError($"{Message(message)}.tool_calls[{i}]", error);
            }
            if (!hasFunction) return Missing($"{Message(message)}.tool_calls[{i}].function");
            if (!hasId) return Missing($"{Message(message)}.tool_calls[{i}].id");
            i++;
        }
        return null;
    }

    /// <summary>
    /// A <c>function</c> object: a string <c>name</c>; <c>arguments</c> and <c>description</c> strings, <c>parameters</c>
    /// an object, where present. A missing field comes back with an empty <see cref="Bad.Expected"/>.
    /// </summary>
    private static Bad? CheckFunction(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject) return new("", "an object");
        var hasName = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String) return new(".name", "a string");
                hasName = true;
            }
            else if (reader.ValueTextEquals("arguments"u8) || reader.ValueTextEquals("description"u8))
            {
                var field = reader.ValueTextEquals("arguments"u8) ? ".arguments" : ".description";
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return new(field, "a string");
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.Null)) return new(".parameters", "an object");
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return hasName ? null : new(".name", "");
    }

    private static GatewayError FunctionError(string path, Bad bad) =>
        bad.Expected.Length == 0 ? Missing(path + bad.Field) : TypeError(path + bad.Field, bad.Expected);

    /// <summary><c>tools</c>: objects; a <c>function</c> tool (the default type) needs a <c>function</c> object with a name.</summary>
    private static GatewayError? CheckTools(ref Utf8JsonReader reader)
    {
        var i = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return TypeError($"tools[{i}]", "an object");
            var hasFunction = false;
            var isFunction = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    if (CheckFunction(ref reader) is { } bad) return FunctionError($"tools[{i}].function", bad);
                    hasFunction = true;
                }
                else if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) return TypeError($"tools[{i}].type", "a string");
                    isFunction = reader.ValueTextEquals("function"u8);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (isFunction && !hasFunction) return Missing($"tools[{i}].function");
            i++;
        }
        return null;
    }

    /// <summary><c>tool_choice</c>: a string, or an object whose <c>function</c> (required for the <c>function</c> type) names the tool.</summary>
    private static GatewayError? CheckToolChoice(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject) return TypeError("tool_choice", "a string or an object");
        bool hasFunction = false, isFunction = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("function"u8))
            {
                reader.Read();
                if (CheckFunction(ref reader) is { } bad) return FunctionError("tool_choice.function", bad);
                hasFunction = true;
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String) return TypeError("tool_choice.type", "a string");
                isFunction = reader.ValueTextEquals("function"u8);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return isFunction && !hasFunction ? Missing("tool_choice.function") : null;
    }

    private static GatewayError Missing(string param) =>
        GatewayError.Invalid($"Missing required parameter: '{param}'.", param, "missing_required_parameter");

    private static GatewayError? CheckStop(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartArray) return TypeError("stop", "a string or an array of strings");
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String) return TypeError("stop", "a string or an array of strings");
            count++;
        }
        return count > 4 ? RangeError("stop", "at most 4 sequences") : null;
    }

    private static bool TryPositiveInt(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var v) || v < 1) return false;
        value = v;
        return true;
    }

    private static bool TryNumber(ref Utf8JsonReader reader, double min, double max, out double? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null) return true;
        if (reader.TokenType != JsonTokenType.Number) return false;
        var v = reader.GetDouble();
        if (v < min || v > max) return false;
        value = v;
        return true;
    }

    private static GatewayError TypeError(string param, string expected) =>
        GatewayError.Invalid($"Invalid type for '{param}': expected {expected}.", param, "invalid_type");

    private static GatewayError RangeError(string param, string expected) =>
        GatewayError.Invalid($"Invalid value for '{param}': expected {expected}.", param, "invalid_value");
}
