using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Json;
using Sanjia.Core.Pipeline;

namespace Sanjia.Api.OpenAi;

/// <summary>
/// <c>POST /v1/images/generations</c> in OpenAI's format (<c>CreateImageRequest</c> in, <c>ImagesResponse</c> out).
/// Images come back as base64 (<c>b64_json</c>): the gateway stores no images, so it has no URLs of its own to hand
/// out, and <c>response_format: url</c> is refused naming the option. Image streaming is not implemented:
/// <c>stream: true</c> is refused too. docs/images.md.
/// </summary>
public sealed class ImagesEndpoint(GatewayEngine engine, long maxBodyBytes)
{
    public const string Route = "/v1/images/generations";

    private static readonly string[] Qualities = ["standard", "hd", "low", "medium", "high", "auto"];

    /// <summary>
    /// The shared steps of the endpoint flow (<see cref="Exchange"/>): body, <c>x-sanjia-timeout</c> (covering the
    /// whole answer, as for embeddings), caller, route and cost headers, errors in the route's dialect. The cost goes
    /// in the headers only, as for embeddings: the body is megabytes of base64.
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
        var (context, outcome) = await engine.GenerateImagesAsync(request!, Exchange.CallerOf(http), http.TraceIdentifier, start, http.RequestAborted).ConfigureAwait(false);
        var answer = outcome.Result is { } result ? result.Body ?? Serialize(result, engine.Time) : default;
        await Exchange.WriteCompleteAsync(http, context, outcome.Error, answer).ConfigureAwait(false);
    }

    internal static (ImageRequest?, GatewayError?) Parse(ReadOnlyMemory<byte> body)
    {
        if (Exchange.ParseModelRequest(body, out var doc, out var modelName) is { } invalid)
        {
            return (null, invalid);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind != JsonValueKind.String || prompt.GetString() is not { Length: > 0 } promptText)
                return (null, GatewayError.Invalid("Missing required parameter: 'prompt' (a non-empty string).", "prompt", "missing_required_parameter"));
            if (root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
                return (null, GatewayError.Invalid("Image streaming ('stream': true) is not implemented by this gateway. Leave 'stream' out or set it to false to get the images in one answer.", "stream", "unsupported_parameter"));
            var n = 1;
            if (root.TryGetProperty("n", out var count) && count.ValueKind != JsonValueKind.Null)
            {
                if (count.ValueKind != JsonValueKind.Number || !count.TryGetInt32(out n) || n < 1 || n > 10)
                    return (null, GatewayError.Invalid("Invalid value for 'n': expected an integer from 1 to 10.", "n", "invalid_value"));
            }
            if (Optional(root, "size", out var size) is { } sizeError) return (null, sizeError);
            if (size is not null && !size.Equals("auto", StringComparison.OrdinalIgnoreCase) && ImageRequest.ParseSize(size) is null)
                return (null, GatewayError.Invalid($"Invalid value for 'size': '{size}'. Expected WIDTHxHEIGHT (e.g. 1024x1024) or 'auto'.", "size", "invalid_value"));
            if (Optional(root, "quality", out var quality) is { } qualityError) return (null, qualityError);
            if (quality is not null && !Qualities.Contains(quality))
                return (null, GatewayError.Invalid($"Invalid value for 'quality': '{quality}'. Expected one of {string.Join(", ", Qualities)}.", "quality", "invalid_value"));
            if (Optional(root, "response_format", out var format) is { } formatError) return (null, formatError);
            if (format == "url")
                return (null, GatewayError.Invalid("'response_format': 'url' is not supported: this gateway does not store images, so it has no URLs to hand out. Leave 'response_format' out or use 'b64_json'.", "response_format", "unsupported_value"));
            if (format is not null && format != "b64_json")
                return (null, GatewayError.Invalid($"Invalid value for 'response_format': '{format}'. Expected 'b64_json'.", "response_format", "invalid_value"));
            return (new ImageRequest { Body = body, Model = modelName, Prompt = promptText, N = n, Size = size, Quality = quality, HasResponseFormat = format is not null }, null);
        }
    }

    /// <summary>An optional string member: absent or null gives null; any other type is the 400.</summary>
    private static GatewayError? Optional(JsonElement root, string name, out string? value)
    {
        value = null;
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) return GatewayError.Invalid($"Invalid type for '{name}': expected a string.", name, "invalid_type");
        value = v.GetString();
        return null;
    }

    /// <summary>An <c>ImagesResponse</c> for images a translating adapter returned (Stable Diffusion servers).</summary>
    internal static byte[] Serialize(ImageResult result, TimeProvider time)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer))
        {
            w.WriteStartObject();
            w.WriteNumber("created"u8, result.Created > 0 ? result.Created : time.GetUtcNow().ToUnixTimeSeconds());
            w.WriteStartArray("data"u8);
            foreach (var image in result.Images ?? [])
            {
                w.WriteStartObject();
                w.WriteString("b64_json"u8, image);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
