using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.OpenAi;

/// <summary><c>POST /v1/embeddings</c>: string or array input, float or base64 output.</summary>
public sealed class EmbeddingsEndpoint(GatewayEngine engine, long maxBodyBytes)
{
    public const string Route = "/v1/embeddings";

    /// <summary>
    /// The steps of the chat flow that apply (<see cref="Exchange"/>): body, <c>x-sanjia-timeout</c> (the same parse and
    /// 400; the router's per-attempt limit then covers the whole answer, as for a chat that is not streamed), caller,
    /// route and cost headers, errors in the route's dialect. The cost goes in the headers only: finding <c>usage</c> in a body of vectors to splice it
    /// in would mean scanning megabytes.
    /// </summary>
    public async Task HandleAsync(HttpContext http)
    {
        var start = engine.Time.GetTimestamp();
        if (await Exchange.ReadBodyAsync(http, maxBodyBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }
        var (request, error) = Parse(body);
        if ((error ?? Exchange.ApplyTimeout(http, request!)) is { } refused)
        {
            await ErrorWriter.WriteAsync(http, refused).ConfigureAwait(false);
            return;
        }
        var (context, outcome) = await engine.EmbedAsync(request!, Exchange.CallerOf(http), http.TraceIdentifier, start, http.RequestAborted).ConfigureAwait(false);
        var answer = outcome.Result is { } result ? result.Body ?? Serialize(request!, result) : default;
        await Exchange.WriteCompleteAsync(http, context, outcome.Error, answer).ConfigureAwait(false);
    }

    internal static (EmbeddingRequest?, GatewayError?) Parse(ReadOnlyMemory<byte> body)
    {
        if (Exchange.ParseModelRequest(body, out var doc, out var modelName) is { } invalid)
        {
            return (null, invalid);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("input", out var input))
                return (null, GatewayError.Invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter"));
            var inputs = new List<string>();
            var tokens = false;
            switch (input.ValueKind)
            {
                case JsonValueKind.String:
                    inputs.Add(input.GetString()!);
                    break;
                case JsonValueKind.Array when input.GetArrayLength() > 0:
                    foreach (var item in input.EnumerateArray())
                    {
                        if (item.ValueKind == JsonValueKind.String) inputs.Add(item.GetString()!);
                        else if (item.ValueKind is JsonValueKind.Number or JsonValueKind.Array) { tokens = true; inputs.Add(item.GetRawText()); }
                        else return (null, GatewayError.Invalid("Invalid type for 'input': expected a string, an array of strings, or token arrays.", "input", "invalid_type"));
                    }
                    break;
                default:
                    return (null, GatewayError.Invalid("Invalid value for 'input': expected a non-empty string or array.", "input", "invalid_value"));
            }
            if (inputs.Count > 2048)
                return (null, GatewayError.Invalid("'input' may hold at most 2048 items.", "input", "invalid_value"));
            var base64 = false;
            if (root.TryGetProperty("encoding_format", out var format) && format.ValueKind != JsonValueKind.Null)
            {
                if (format.ValueKind != JsonValueKind.String || !(format.ValueEquals("float") || format.ValueEquals("base64")))
                    return (null, GatewayError.Invalid("Invalid value for 'encoding_format': expected 'float' or 'base64'.", "encoding_format", "invalid_value"));
                base64 = format.ValueEquals("base64");
            }
            int? dimensions = null;
            if (root.TryGetProperty("dimensions", out var dims) && dims.ValueKind != JsonValueKind.Null)
            {
                if (dims.ValueKind != JsonValueKind.Number || !dims.TryGetInt32(out var d) || d < 1)
                    return (null, GatewayError.Invalid("Invalid value for 'dimensions': expected a positive integer.", "dimensions", "invalid_value"));
                dimensions = d;
            }
            return (new EmbeddingRequest { Body = body, Model = modelName, Inputs = inputs, InputIsTokens = tokens, Base64 = base64, Dimensions = dimensions }, null);
        }
    }

    internal static byte[] Serialize(EmbeddingRequest request, EmbeddingResult result)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            var vectors = result.Vectors ?? [];
            for (var i = 0; i < vectors.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("object"u8, "embedding"u8);
                w.WriteNumber("index"u8, i);
                if (request.Base64)
                {
                    // OpenAI's base64 format: the little-endian float32 bytes of the vector.
                    w.WriteBase64String("embedding"u8, MemoryMarshal.AsBytes(vectors[i].AsSpan()));
                }
                else
                {
                    w.WriteStartArray("embedding"u8);
                    foreach (var v in vectors[i]) w.WriteNumberValue(v);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model"u8, request.Model);
            w.WriteStartObject("usage"u8);
            w.WriteNumber("prompt_tokens"u8, result.Usage.Input);
            w.WriteNumber("total_tokens"u8, result.Usage.Input);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
