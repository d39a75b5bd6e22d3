using System.Text;
using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Json;

/// <summary>What metering needs from one OpenAI response or stream chunk.</summary>
public struct ChunkInfo
{
    public TokenUsage? Usage;
    /// <summary>Offset of the closing brace of the <c>usage</c> object (where the cost is added); -1 when there is none.</summary>
    public int UsageEnd;
    /// <summary>Entries in <c>choices</c>; -1 when absent.</summary>
    public int Choices;
    public bool IsError;
    /// <summary>The payload was a well-formed JSON object.</summary>
    public bool Valid;
}

/// <summary>
/// Reads usage (and, for estimates, generated text) from OpenAI <c>chat.completion</c> bodies and
/// <c>chat.completion.chunk</c> payloads without materialising them.
/// </summary>
public static class ChunkScanner
{
    /// <param name="text">When not null, delta/message text, reasoning and tool arguments are appended (for token estimates).</param>
    public static ChunkInfo Scan(ReadOnlySpan<byte> json, StringBuilder? text)
    {
        var info = new ChunkInfo { Choices = -1, UsageEnd = -1 };
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return info;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        info.Usage = ReadUsage(ref reader);
                        info.UsageEnd = (int)reader.TokenStartIndex;
                    }
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray) info.Choices = ReadChoices(ref reader, text);
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    info.IsError = true;
                    reader.Read();
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            info.Valid = reader.TokenType == JsonTokenType.EndObject && !reader.Read();
        }
        catch (JsonException)
        {
            // A malformed payload carries nothing metering can use; the stream reader reports it separately.
        }
        return info;
    }

    /// <summary>Reads an OpenAI <c>usage</c> object; the reader is on its StartObject and ends on its EndObject.</summary>
    public static TokenUsage ReadUsage(ref Utf8JsonReader reader)
    {
        int input = 0, output = 0, cached = 0, reasoning = 0, written = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8)) { reader.Read(); input = ReadInt(ref reader); }
            else if (reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8)) { reader.Read(); output = ReadInt(ref reader); }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8) || reader.ValueTextEquals("completion_tokens_details"u8)
                || reader.ValueTextEquals("input_tokens_details"u8) || reader.ValueTextEquals("output_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("cached_tokens"u8)) { reader.Read(); cached = ReadInt(ref reader); }
                    else if (reader.ValueTextEquals("reasoning_tokens"u8)) { reader.Read(); reasoning = ReadInt(ref reader); }
                    // Tokens written to the vendor's prompt cache, as the Anthropic translation reports them.
                    else if (reader.ValueTextEquals("cache_creation_tokens"u8)) { reader.Read(); written = ReadInt(ref reader); }
                    else { reader.Read(); reader.Skip(); }
                }
            }
            else if (reader.ValueTextEquals("prompt_cache_hit_tokens"u8))
            {
                // DeepSeek reports cache hits at the top level of usage.
                reader.Read();
                cached = Math.Max(cached, ReadInt(ref reader));
            }
            else { reader.Read(); reader.Skip(); }
        }
        return new TokenUsage(input, output, cached, reasoning, CacheWrite: written);
    }

    private static int ReadChoices(ref Utf8JsonReader reader, StringBuilder? text)
    {
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            count++;
            if (text is null) { reader.Skip(); continue; }
            AppendText(ref reader, text);
        }
        return count;
    }

    // Walks a choice object and appends every string under content / reasoning_content / arguments / refusal.
    private static void AppendText(ref Utf8JsonReader reader, StringBuilder text)
    {
        var start = reader.CurrentDepth;
        var capture = false;
        while (reader.Read() && reader.CurrentDepth > start)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    capture = reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("reasoning_content"u8)
                        || reader.ValueTextEquals("arguments"u8) || reader.ValueTextEquals("refusal"u8) || reader.ValueTextEquals("name"u8);
                    break;
                case JsonTokenType.String when capture:
                    text.Append(reader.GetString());
                    capture = false;
                    break;
                default:
                    capture = false;
                    break;
            }
        }
    }

    private static int ReadInt(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v) ? v : 0;
}
