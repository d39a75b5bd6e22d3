using System.Text.Json;
using Sanjia.Abstractions;

namespace Sanjia.Core.Json;

/// <summary>
/// The depth every reader of a request body allows (System.Text.Json's default: the parsers, the translators and the
/// local backend), and the 400 that says a body went past it: valid JSON nested deeper would otherwise be reported as
/// JSON that does not parse.
/// </summary>
public static class JsonNesting
{
    public const int MaxDepth = 64;

    /// <summary>
    /// After a read of <paramref name="body"/> failed: the "nested too deeply" 400 when the body is valid JSON deeper than
    /// <see cref="MaxDepth"/>, or null when its fault is something else. Only on that failure, so the success path pays nothing.
    /// </summary>
    public static GatewayError? TooDeep(ReadOnlySpan<byte> body)
    {
        // A body can be no deeper than it is long, so that depth lets the reader see all of it.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = Math.Max(body.Length, 1) });
        var deepest = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) deepest = Math.Max(deepest, reader.CurrentDepth + 1);
            }
        }
        catch (JsonException)
        {
            return null;
        }
        return deepest > MaxDepth
            ? GatewayError.Invalid($"The JSON body is nested too deeply: at most {MaxDepth} levels of objects and arrays are allowed.", code: "invalid_json")
            : null;
    }
}
