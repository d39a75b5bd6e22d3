using System.Text.Json.Nodes;
using Sanjia.Testing.OpenApi;

namespace Sanjia.Core.Tests.OpenApi;

/// <summary>The YAML and OpenAPI-to-JSON-Schema conversions the validator relies on.</summary>
public sealed class OpenApiTranslationTests
{
    [Fact]
    public void Plain_scalars_become_json_values_and_quoted_ones_stay_strings()
    {
        var json = YamlJson.Parse("""
            flag: true
            count: 12
            ratio: -0.5
            nothing: null
            quotedNull: "null"
            quotedNumber: '12'
            word: on
            date: 2024-08-06
            """)!.ToJsonString();

        Assert.Equal("""{"flag":true,"count":12,"ratio":-0.5,"nothing":null,"quotedNull":"null","quotedNumber":"12","word":"on","date":"2024-08-06"}""", json);
    }

    [Fact]
    public void Component_refs_point_into_defs_and_are_reported()
    {
        var referenced = new HashSet<string>();

        var schema = Translate("A", """{"properties":{"b":{"$ref":"#/components/schemas/B"},"c":{"items":{"$ref":"#/components/schemas/C"}}}}""", referenced);

        Assert.Equal("#/$defs/B", schema["properties"]!["b"]!["$ref"]!.GetValue<string>());
        Assert.Equal("#/$defs/C", schema["properties"]!["c"]!["items"]!["$ref"]!.GetValue<string>());
        Assert.Equal(["B", "C"], referenced.Order());
    }

    [Fact]
    public void Nullable_with_a_type_widens_the_type_and_the_enum()
    {
        var schema = Translate("A", """{"type":"string","enum":["stop","length"],"nullable":true}""", new HashSet<string>());

        Assert.Equal("""{"type":["string","null"],"enum":["stop","length",null]}""", schema.ToJsonString());
    }

    [Fact]
    public void Nullable_without_a_type_wraps_in_anyOf()
    {
        var schema = Translate("A", """{"$ref":"#/components/schemas/B","nullable":true}""", new HashSet<string>());

        Assert.Equal("""{"anyOf":[{"$ref":"#/$defs/B"},{"type":"null"}]}""", schema.ToJsonString());
    }

    [Fact]
    public void Property_names_that_look_like_keywords_are_left_alone()
    {
        var schema = Translate("A", """{"properties":{"nullable":{"type":"boolean"},"enum":{"type":"string"}},"example":{"$ref":"not a ref"}}""", new HashSet<string>());

        Assert.Equal("""{"properties":{"nullable":{"type":"boolean"},"enum":{"type":"string"}},"example":{"$ref":"not a ref"}}""", schema.ToJsonString());
    }

    [Fact]
    public void OpenApi30_boolean_exclusiveMinimum_becomes_a_bound()
    {
        var schema = Translate("A", """{"type":"number","minimum":0,"exclusiveMinimum":true}""", new HashSet<string>());

        Assert.Equal("""{"type":"number","exclusiveMinimum":0}""", schema.ToJsonString());
    }

    [Fact]
    public void RecursiveRef_to_self_becomes_a_ref_to_the_component()
    {
        var referenced = new HashSet<string>();

        var schema = Translate("Filter", """{"$recursiveAnchor":true,"items":{"oneOf":[{"$recursiveRef":"#"}]}}""", referenced);

        Assert.Equal("""{"items":{"oneOf":[{"$ref":"#/$defs/Filter"}]}}""", schema.ToJsonString());
        Assert.Contains("Filter", referenced);
    }

    [Fact]
    public void The_spec_path_setting_must_point_to_a_file()
    {
        var e = Assert.Throws<FileNotFoundException>(() => OpenApiSpecLocator.Locate("/nonexistent/openai.yaml", AppContext.BaseDirectory));

        Assert.Contains(OpenApiSpec.PathVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_setting_the_spec_is_found_in_a_parent_folder()
    {
        var root = Directory.CreateTempSubdirectory("sanjia-openapi-");
        try
        {
            var spec = Path.Combine(root.FullName, "shared", "specs", "openai-openapi.yaml");
            Directory.CreateDirectory(Path.GetDirectoryName(spec)!);
            File.WriteAllText(spec, "openapi: 3.1.0\n");
            var deep = Directory.CreateDirectory(Path.Combine(root.FullName, "test", "bin", "Debug"));

            Assert.Equal(spec, OpenApiSpecLocator.Locate(null, deep.FullName));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static JsonNode Translate(string owner, string schemaJson, ISet<string> referenced) =>
        OpenApiSchemaTranslator.Translate(owner, JsonNode.Parse(schemaJson), referenced)!;
}
