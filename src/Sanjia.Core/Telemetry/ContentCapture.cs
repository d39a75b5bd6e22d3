using System.Text;
using System.Text.Json;

namespace Sanjia.Core.Telemetry;

/// <summary>
/// The prompt content a span carries when <c>Sanjia:Telemetry:CaptureContent</c> is on (never otherwise): the
/// request's <c>messages</c> (or <c>input</c>) array as the client sent it.
/// </summary>
internal static class ContentCapture
{
    public static string Messages(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return "";
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var wanted = reader.ValueTextEquals("messages"u8) || reader.ValueTextEquals("input"u8);
                reader.Read();
                if (wanted)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    return Encoding.UTF8.GetString(body[start..((int)reader.BytesConsumed)]);
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Parsed and validated before; nothing to capture from a body that is not JSON after all.
        }
        return "";
    }
}
