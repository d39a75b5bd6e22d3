using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sanjia.Core.Json;

/// <summary>
/// The one set of options for JSON the gateway writes itself (answers, translations, errors, admin documents). Text
/// is escaped only where JSON requires it (quotes, backslashes, control characters): the bodies are
/// <c>application/json</c> read by JSON parsers, never embedded in HTML, and escaping every non-ASCII character
/// (the default encoder) would make a Chinese answer six bytes per character instead of three.
/// </summary>
public static class SanjiaJson
{
    public static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The same escaping for <see cref="JsonSerializer"/> and <c>JsonNode.ToJsonString</c>.</summary>
    public static readonly JsonSerializerOptions Serializer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Records the stores keep as JSON (prompt versions, shadow pairs), in SQLite and PostgreSQL alike:
    /// web names (camelCase), default escaping, so rows written before this one set existed read back unchanged.
    /// </summary>
    public static readonly JsonSerializerOptions Stored = new(JsonSerializerDefaults.Web);
}
