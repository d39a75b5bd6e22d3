using System.Text.Json.Nodes;

namespace Sanjia.Testing.OpenApi;

/// <summary>
/// Deliberate, minimal widenings of the official spec where it disagrees with what the OpenAI API really sends.
/// Each one is listed in <see cref="OpenApiSpec.Errata"/> and in README.md so nobody mistakes it for the spec.
/// </summary>
internal static class OpenApiErrata
{
    public static IReadOnlyList<string> Apply(JsonObject defs)
    {
        var applied = new List<string>();

        // With encoding_format=base64 the API returns each embedding as a base64 string of little-endian float32s,
        // but the spec only describes the float array.
        if (defs["Embedding"]?["properties"] is JsonObject embeddingProperties
            && embeddingProperties["embedding"] is JsonObject floats
            && floats["type"]?.GetValue<string>() == "array")
        {
            embeddingProperties.Remove("embedding");
            embeddingProperties["embedding"] = new JsonObject
            {
                ["anyOf"] = new JsonArray(
                    floats,
                    new JsonObject { ["type"] = "string", ["contentEncoding"] = "base64", ["pattern"] = "^[A-Za-z0-9+/]*={0,2}$" }),
            };
            applied.Add("Embedding.embedding also accepts a base64 string (encoding_format=base64).");
        }

        return applied;
    }
}
