using System.Text;
using System.Text.Json;

namespace Sanjia.Core.Caching.Semantic;

/// <summary>
/// What the semantic cache compares: the text of the request's last user turn, and the partition it may be compared
/// within: the exact cache's canonical key (<see cref="CacheKey"/>) of the same request with that turn's content
/// left out, so that everything else (system prompt, earlier turns, alias, tools, sampling fields, scope) must match
/// exactly. The embedding model is part of the partition: vectors of two models are never compared.
/// </summary>
public static class SemanticKey
{
    /// <summary>
    /// The partition and the text, or null when the request has nothing to compare: no messages, a last message that is
    /// not the user's, or a user turn with parts other than text (an image is not a sentence) or no text at all.
    /// </summary>
    /// <param name="latinScriptOnly">Leave out texts whose letters are mostly not Latin (<see cref="SemanticPolicy.LatinScriptOnly"/>).</param>
    public static (UInt128 Partition, string Text)? Of(ReadOnlySpan<byte> body, string alias, string scope, string embeddingModel, bool latinScriptOnly = false)
    {
        if (LastUserTurn(body) is not var (start, end, text)) return null;
        if (latinScriptOnly && !MostlyLatin(text)) return null;
        // The body with the turn's content replaced by null: one copy of the request, on a path that embeds anyway.
        var rest = new byte[body.Length - (end - start) + 4];
        body[..start].CopyTo(rest);
        "null"u8.CopyTo(rest.AsSpan(start));
        body[end..].CopyTo(rest.AsSpan(start + 4));
        return (CacheKey.Compute(rest, alias + "\0semantic\0" + embeddingModel, scope), text);
    }

    /// <summary>At least four in five of the text's letters are Latin (Basic Latin to Latin Extended-B); a text without letters is not.</summary>
    public static bool MostlyLatin(string text)
    {
        int letters = 0, latin = 0;
        foreach (var c in text)
        {
            if (!char.IsLetter(c)) continue;
            letters++;
            if (c <= '\u024F') latin++;
        }
        return letters > 0 && latin * 5 >= letters * 4;
    }

    /// <summary>Where the last message's <c>content</c> value lies in the body, and its text, when that message is a user turn of text.</summary>
    private static (int Start, int End, string Text)? LastUserTurn(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessages = reader.ValueTextEquals("messages"u8);
            reader.Read();
            if (!isMessages)
            {
                reader.Skip();
                continue;
            }
            if (reader.TokenType != JsonTokenType.StartArray) return null;
            (int, int, string)? last = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                last = reader.TokenType == JsonTokenType.StartObject ? Message(ref reader) : null;
                if (reader.TokenType is JsonTokenType.StartArray) reader.Skip(); // a malformed message: not compared
            }
            return last;
        }
        return null;
    }

    /// <summary>One message (the reader on its '{', left on its '}'): its content's place and text when it is a user turn of text.</summary>
    private static (int Start, int End, string Text)? Message(ref Utf8JsonReader reader)
    {
        var isUser = false;
        int start = -1, end = -1;
        string? text = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                reader.Read();
                isUser = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("user"u8);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                start = (int)reader.TokenStartIndex;
                text = reader.TokenType switch
                {
                    JsonTokenType.String => reader.GetString(),
                    JsonTokenType.StartArray => TextParts(ref reader),
                    _ => null,
                };
                if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject) reader.Skip();
                end = (int)reader.BytesConsumed;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return isUser && !string.IsNullOrWhiteSpace(text) ? (start, end, text) : null;
    }

    /// <summary>The text of content parts joined by newlines; null when any part is not text. Leaves the reader on the array's ']'.</summary>
    private static string? TextParts(ref Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        var text = new StringBuilder();
        var onlyText = true;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                onlyText = false;
                reader.Skip();
                continue;
            }
            string? type = null, partText = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                if (name == "type" && reader.TokenType == JsonTokenType.String) type = reader.GetString();
                else if (name == "text" && reader.TokenType == JsonTokenType.String) partText = reader.GetString();
                else reader.Skip();
            }
            if (type != "text" || partText is null) onlyText = false;
            else text.Append(text.Length > 0 ? "\n" : "").Append(partText);
        }
        return onlyText ? text.ToString() : null;
    }
}
