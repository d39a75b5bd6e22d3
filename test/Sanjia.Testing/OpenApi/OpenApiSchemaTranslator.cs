using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sanjia.Testing.OpenApi;

/// <summary>
/// Turns one OpenAPI 3.x component schema into a JSON Schema 2020-12 subschema meant to live under <c>$defs</c>.
/// Only keywords in schema positions are rewritten; values such as <c>enum</c>, <c>default</c>, <c>example</c>,
/// <c>discriminator</c> and <c>x-*</c> are copied untouched (JSON Schema treats unknown ones as annotations).
/// </summary>
public static class OpenApiSchemaTranslator
{
    public const string ComponentRefPrefix = "#/components/schemas/";
    public const string DefsRefPrefix = "#/$defs/";

    private static readonly HashSet<string> SingleSchemaKeywords =
    [
        "items", "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties",
    ];

    private static readonly HashSet<string> SchemaArrayKeywords = ["allOf", "anyOf", "oneOf", "prefixItems"];

    private static readonly HashSet<string> SchemaMapKeywords = ["properties", "patternProperties", "dependentSchemas", "$defs"];

    // A schema with one of these could reject null whatever its "type" says, so nullable must wrap it instead.
    private static readonly HashSet<string> ApplicatorKeywords = ["$ref", "allOf", "anyOf", "oneOf", "not", "const"];

    /// <summary>Translates <paramref name="schema"/>, the component named <paramref name="owner"/>, into a new tree.</summary>
    /// <param name="referenced">Receives the names of the components it references.</param>
    public static JsonNode? Translate(string owner, JsonNode? schema, ISet<string> referenced) =>
        Schema(schema, owner, referenced);

    private static JsonNode? Schema(JsonNode? node, string owner, ISet<string> referenced)
    {
        // Boolean schemas (additionalProperties: false) have nothing to translate.
        if (node is not JsonObject source) return node?.DeepClone();

        var result = new JsonObject();
        var nullable = false;
        foreach (var (key, value) in source)
        {
            switch (key)
            {
                case "nullable":
                    nullable = value?.GetValueKind() == JsonValueKind.True;
                    break;
                case "$ref":
                    result["$ref"] = RewriteRef(value, referenced);
                    break;
                case "$recursiveRef":
                    // 2019-09 keyword, unknown to 2020-12 (it would be ignored). The spec only uses "#" from inside a
                    // component, which means "this component".
                    if (value?.GetValue<string>() != "#")
                        throw new InvalidOperationException($"{owner}: unsupported $recursiveRef '{value}'.");
                    result["$ref"] = DefsRefPrefix + owner;
                    referenced.Add(owner);
                    break;
                case "$recursiveAnchor":
                    break;
                case var k when SingleSchemaKeywords.Contains(k):
                    result[key] = value is JsonArray tuple ? SchemaArray(tuple, owner, referenced) : Schema(value, owner, referenced);
                    break;
                case var k when SchemaArrayKeywords.Contains(k) && value is JsonArray array:
                    result[key] = SchemaArray(array, owner, referenced);
                    break;
                case var k when SchemaMapKeywords.Contains(k) && value is JsonObject map:
                    var translated = new JsonObject();
                    foreach (var (name, sub) in map) translated[name] = Schema(sub, owner, referenced);
                    result[key] = translated;
                    break;
                default:
                    result[key] = value?.DeepClone();
                    break;
            }
        }

        FixBooleanExclusive(result, "exclusiveMinimum", "minimum");
        FixBooleanExclusive(result, "exclusiveMaximum", "maximum");
        return nullable ? MakeNullable(result) : result;
    }

    private static JsonArray SchemaArray(JsonArray source, string owner, ISet<string> referenced)
    {
        var result = new JsonArray();
        foreach (var item in source) result.Add(Schema(item, owner, referenced));
        return result;
    }

    private static string RewriteRef(JsonNode? value, ISet<string> referenced)
    {
        var reference = value?.GetValue<string>() ?? "";
        if (!reference.StartsWith(ComponentRefPrefix, StringComparison.Ordinal))
            throw new InvalidOperationException($"Unsupported $ref '{reference}': only {ComponentRefPrefix}* is understood.");
        var name = reference[ComponentRefPrefix.Length..];
        referenced.Add(name);
        return DefsRefPrefix + name;
    }

    /// <summary>OpenAPI 3.0's <c>nullable: true</c>: the value may also be null.</summary>
    private static JsonObject MakeNullable(JsonObject schema)
    {
        if (schema["type"] is { } type && !schema.Any(p => ApplicatorKeywords.Contains(p.Key)))
        {
            schema["type"] = type switch
            {
                JsonArray types when types.Any(t => t?.GetValue<string>() == "null") => types,
                JsonArray types => new JsonArray([.. types.Select(t => t?.DeepClone()), JsonValue.Create("null")]),
                _ when type.GetValue<string>() == "null" => type.DeepClone(),
                _ => new JsonArray(type.DeepClone(), JsonValue.Create("null")),
            };
            // enum is checked independently of type, so null must be one of its values too.
            if (schema["enum"] is JsonArray values && !values.Any(v => v is null)) values.Add(null);
            return schema;
        }
        return new JsonObject { ["anyOf"] = new JsonArray(schema, new JsonObject { ["type"] = "null" }) };
    }

    /// <summary>OpenAPI 3.0's boolean <c>exclusiveMinimum: true</c> modifies <c>minimum</c>; 2020-12 wants the bound itself.</summary>
    private static void FixBooleanExclusive(JsonObject schema, string exclusiveKeyword, string boundKeyword)
    {
        if (schema[exclusiveKeyword] is not JsonValue flag) return;
        var kind = flag.GetValueKind();
        if (kind is not (JsonValueKind.True or JsonValueKind.False)) return;

        schema.Remove(exclusiveKeyword);
        if (kind == JsonValueKind.True && schema[boundKeyword] is { } bound)
        {
            schema.Remove(boundKeyword);
            schema[exclusiveKeyword] = bound;
        }
    }
}
