using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sanjia.Testing.OpenApi;

/// <summary>
/// Converts a YamlDotNet representation model to <see cref="JsonNode"/> using the YAML 1.2 core schema: only plain,
/// untagged scalars are resolved to null/bool/number, so <c>"null"</c> or <c>'1'</c> stay strings and
/// YAML 1.1 words such as <c>on</c>/<c>yes</c> (real enum values in OpenAI's spec) are not turned into booleans.
/// </summary>
public static partial class YamlJson
{
    /// <summary>Parses the first document of a YAML text.</summary>
    public static JsonNode? Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : ToJson(stream.Documents[0].RootNode);
    }

    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => ToObject(map),
        YamlSequenceNode seq => ToArray(seq),
        YamlScalarNode scalar => ToValue(scalar),
        _ => throw new InvalidOperationException($"Unsupported YAML node {node.NodeType} at {node.Start}."),
    };

    private static JsonObject ToObject(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
                throw new InvalidOperationException($"Non-scalar mapping key at {key.Start} cannot become a JSON property.");
            obj[name] = ToJson(value);
        }
        return obj;
    }

    private static JsonArray ToArray(YamlSequenceNode seq)
    {
        var array = new JsonArray();
        foreach (var item in seq.Children) array.Add(ToJson(item));
        return array;
    }

    private static JsonValue? ToValue(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        var resolvable = (scalar.Style is ScalarStyle.Plain or ScalarStyle.Any) && scalar.Tag.IsEmpty;
        if (!resolvable) return JsonValue.Create(text);

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return JsonValue.Create(true);
            case "false" or "False" or "FALSE": return JsonValue.Create(false);
        }
        if (IntPattern().IsMatch(text))
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
            return JsonValue.Create(decimal.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
        }
        if (FloatPattern().IsMatch(text)
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return JsonValue.Create(d);
        }
        // .inf/.nan, hex and octal have no JSON form and do not occur in the spec: they stay text.
        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
