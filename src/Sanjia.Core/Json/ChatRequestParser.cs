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
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 128, CommentHandling = JsonCommentHandling.Disallow };

    public static (ChatRequest? Request, GatewayError? Error) Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return ParseCore(body);
        }
        catch (JsonException)
        {
            return (null, GatewayError.Invalid("We could not parse the JSON body of your request. Send a valid JSON object.", code: "invalid_json"));
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
                if (reader.TokenType == JsonTokenType.StartArray) { hasTools = true; reader.Skip(); }
                else if (reader.TokenType != JsonTokenType.Null) return (null, TypeError("tools", "an array"));
            }
            else if (name.SequenceEqual("response_format"u8))
            {
                if (reader.TokenType == JsonTokenType.StartObject) { hasResponseFormat = true; reader.Skip(); }
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
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("refusal"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String) prompt?.Append(reader.GetString()).Append('\n');
                    else reader.Skip();
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
                    break;
                case "image_url" or "input_image":
                    hasImages = true;
                    break;
                case "input_audio" or "file":
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
