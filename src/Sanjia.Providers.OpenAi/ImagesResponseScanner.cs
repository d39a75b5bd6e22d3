using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Providers.OpenAi;

/// <summary>
/// Reads what metering needs from an OpenAI <c>ImagesResponse</c> without building a document of it (the body is
/// mostly base64 images, megabytes each): the number of images in <c>data</c> and the GPT image models' <c>usage</c>.
/// </summary>
internal static class ImagesResponseScanner
{
    public static (bool Valid, int Count, TokenUsage Usage) Scan(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return default;
            var count = 0;
            TokenUsage usage = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray) { reader.Skip(); continue; }
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        count++;
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    usage = ReadUsage(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return (true, count, usage);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary><c>ImageGenUsage</c>: <c>input_tokens</c> (text and image) and <c>output_tokens</c> (image).</summary>
    private static TokenUsage ReadUsage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return default;
        }
        int input = 0, output = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isInput = reader.ValueTextEquals("input_tokens"u8);
            var isOutput = reader.ValueTextEquals("output_tokens"u8);
            reader.Read();
            if (reader.TokenType == JsonTokenType.Number && (isInput || isOutput))
            {
                if (isInput) input = reader.GetInt32();
                else output = reader.GetInt32();
            }
            else
            {
                reader.Skip();
            }
        }
        return new TokenUsage(input, output);
    }
}
