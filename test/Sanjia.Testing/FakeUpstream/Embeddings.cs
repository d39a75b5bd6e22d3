using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Sanjia.Testing.FakeUpstream;

internal sealed record EmbeddingRequestInfo(string Model, IReadOnlyList<string> Inputs, int Tokens, bool Base64, int Dimensions);

/// <summary><c>POST /v1/embeddings</c>: deterministic unit vectors derived from each input's text.</summary>
internal static class Embeddings
{
    public static (EmbeddingRequestInfo? Request, InvalidRequest? Error) Parse(ReadOnlyMemory<byte> body, int defaultDimensions)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return (null, new InvalidRequest("We could not parse the JSON body of your request.", null, null));
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, new InvalidRequest("The request body must be a JSON object.", null, "invalid_type"));
            if (!root.TryGetProperty("model", out var model)) return (null, ChatCompletions.Missing("model"));
            if (model.ValueKind != JsonValueKind.String) return (null, ChatCompletions.WrongType("model", "a string", model));
            if (!root.TryGetProperty("input", out var input)) return (null, ChatCompletions.Missing("input"));

            var inputs = new List<string>();
            var tokens = 0;
            switch (input.ValueKind)
            {
                case JsonValueKind.String:
                    inputs.Add(input.GetString()!);
                    tokens += OpenAiWire.CountWords(input.GetString()!);
                    break;
                case JsonValueKind.Array when input.GetArrayLength() > 0:
                    // One token array ([1,2,3]) is a single input; otherwise each element is one input.
                    if (input[0].ValueKind == JsonValueKind.Number)
                    {
                        if (!AllNumbers(input)) return (null, BadInput());
                        inputs.Add(input.GetRawText());
                        tokens += input.GetArrayLength();
                        break;
                    }
                    foreach (var item in input.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.String)
                        {
                            inputs.Add(item.GetString()!);
                            tokens += OpenAiWire.CountWords(item.GetString()!);
                        }
                        else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() > 0 && AllNumbers(item))
                        {
                            inputs.Add(item.GetRawText());
                            tokens += item.GetArrayLength();
                        }
                        else return (null, BadInput());
                    }
                    break;
                default:
                    return (null, BadInput());
            }
            if (inputs.Any(i => i.Length == 0)) return (null, BadInput());

            var base64 = false;
            if (root.TryGetProperty("encoding_format", out var format) && format.ValueKind != JsonValueKind.Null)
            {
                if (format.ValueKind != JsonValueKind.String || format.GetString() is not ("float" or "base64"))
                {
                    return (null, new InvalidRequest("Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format", "invalid_value"));
                }
                base64 = format.GetString() == "base64";
            }

            var dimensions = defaultDimensions;
            if (root.TryGetProperty("dimensions", out var dims) && dims.ValueKind != JsonValueKind.Null)
            {
                if (!dims.TryGetInt32(out dimensions) || dimensions < 1 || dimensions > 65536)
                {
                    return (null, new InvalidRequest("Invalid 'dimensions': expected a positive integer.", "dimensions", "invalid_value"));
                }
            }

            return (new EmbeddingRequestInfo(model.GetString()!, inputs, tokens, base64, dimensions), null);
        }
    }

    private static bool AllNumbers(JsonElement array) =>
        array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _));

    private static InvalidRequest BadInput() =>
        new("Invalid 'input': expected a non-empty string, an array of non-empty strings, or token arrays.", "input", "invalid_value");

    public static async Task RespondAsync(Exchange x, EmbeddingRequestInfo request, FakeBehavior behavior)
    {
        var tokens = behavior.PromptTokens ?? request.Tokens;
        var body = OpenAiWire.Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < request.Inputs.Count; i++)
            {
                var vector = Vector(request.Inputs[i], request.Dimensions);
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                w.WriteNumber("index", i);
                if (request.Base64)
                {
                    w.WriteString("embedding", Convert.ToBase64String(ToLittleEndianBytes(vector)));
                }
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (var v in vector) w.WriteNumberValue(v);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model", request.Model);
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", tokens);
            w.WriteNumber("total_tokens", tokens);
            w.WriteEndObject();
            w.WriteEndObject();
        });

        await x.WriteCompleteAsync(body, behavior).ConfigureAwait(false);
    }

    /// <summary>A unit vector seeded by the input's hash: equal inputs give equal vectors, different inputs differ.</summary>
    internal static float[] Vector(string input, int dimensions)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(input));
        var state = BinaryPrimitives.ReadUInt64LittleEndian(hash) | 1;
        var vector = new float[dimensions];
        double norm = 0;
        for (var i = 0; i < dimensions; i++)
        {
            // xorshift64*: cheap, deterministic, and spreads values over (-1, 1).
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            var bits = state * 2685821657736338717UL;
            var value = (float)((bits >> 11) * (1.0 / (1UL << 53)) * 2 - 1);
            vector[i] = value;
            norm += value * value;
        }
        var scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0f;
        for (var i = 0; i < dimensions; i++) vector[i] *= scale;
        return vector;
    }

    internal static byte[] ToLittleEndianBytes(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        }
        return bytes;
    }
}
