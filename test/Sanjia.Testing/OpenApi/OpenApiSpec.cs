using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sanjia.Testing.OpenApi;

/// <summary>
/// Validates JSON against a component schema of OpenAI's official OpenAPI spec, e.g.
/// <c>OpenApiSpec.AssertValid("CreateChatCompletionResponse", body)</c>. The spec is loaded once per process and
/// each schema is built once, so calling this on every stream chunk is cheap.
/// </summary>
public static partial class OpenApiSpec
{
    public const string PathVariable = "SANJIA_OPENAPI_SPEC";
    public const string RelativeSpecPath = "shared/specs/openai-openapi.yaml";

    private const int MaxJsonInMessage = 8_000;

    private static readonly Lazy<LoadedSpec> Spec = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly ConcurrentDictionary<string, Lazy<JsonSchema>> Schemas = new(StringComparer.Ordinal);
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };

    /// <summary>The spec file in use.</summary>
    public static string SpecPath => Spec.Value.Path;

    /// <summary>Every component schema name.</summary>
    public static IReadOnlyCollection<string> SchemaNames => Spec.Value.Defs.Keys;

    /// <summary>Where this helper deliberately departs from the spec (see README.md).</summary>
    public static IReadOnlyList<string> Errata => Spec.Value.Errata;

    /// <summary>Validates <paramref name="json"/>; returns one line per error (instance path, message, schema location), empty when valid.</summary>
    public static IReadOnlyList<string> Validate(string schemaName, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Validate(schemaName, Encoding.UTF8.GetBytes(json));
    }

    /// <inheritdoc cref="Validate(string, string)"/>
    public static IReadOnlyList<string> Validate(string schemaName, ReadOnlyMemory<byte> utf8Json)
    {
        var schema = GetSchema(schemaName);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json);
        }
        catch (JsonException e)
        {
            return [$"(root): not valid JSON: {e.Message}"];
        }

        using (document)
        {
            var results = schema.Evaluate(document.RootElement, Evaluation);
            if (results.IsValid) return [];

            var errors = new List<string>();
            Collect(results, errors);
            if (errors.Count == 0) errors.Add($"(root): does not match {schemaName}");
            // Grouped by instance path (stable, so each path keeps the library's order) to read like a diff of the document.
            return errors.Distinct(StringComparer.Ordinal).OrderBy(e => e[..e.IndexOf(": ", StringComparison.Ordinal)], StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Throws <see cref="OpenApiValidationException"/> listing every error and the JSON when it does not match.</summary>
    public static void AssertValid(string schemaName, string json)
    {
        var errors = Validate(schemaName, json);
        if (errors.Count > 0) throw new OpenApiValidationException(Describe(schemaName, errors, json));
    }

    /// <inheritdoc cref="AssertValid(string, string)"/>
    public static void AssertValid(string schemaName, ReadOnlyMemory<byte> utf8Json)
    {
        var errors = Validate(schemaName, utf8Json);
        if (errors.Count > 0) throw new OpenApiValidationException(Describe(schemaName, errors, Encoding.UTF8.GetString(utf8Json.Span)));
    }

    private static string Describe(string schemaName, IReadOnlyList<string> errors, string json)
    {
        var message = new StringBuilder()
            .Append("JSON does not match OpenAPI schema '").Append(schemaName).Append("' (").Append(SpecPath).AppendLine("):");
        foreach (var error in errors) message.Append("  - ").AppendLine(error);
        message.AppendLine("JSON:");
        message.Append(json.Length <= MaxJsonInMessage ? json : string.Concat(json.AsSpan(0, MaxJsonInMessage), "…(truncated)"));
        return message.ToString();
    }

    private static void Collect(EvaluationResults node, List<string> errors)
    {
        if (node.Errors is { Count: > 0 })
        {
            var instance = node.InstanceLocation.ToString();
            if (instance.Length == 0) instance = "(root)";
            foreach (var (keyword, message) in node.Errors)
                errors.Add($"{instance}: {message} [schema {node.EvaluationPath}/{keyword}]");
        }
        if (node.Details is { } details)
        {
            foreach (var detail in details) Collect(detail, errors);
        }
    }

    private static JsonSchema GetSchema(string schemaName)
    {
        ArgumentException.ThrowIfNullOrEmpty(schemaName);
        var spec = Spec.Value;
        if (!spec.Defs.ContainsKey(schemaName))
            throw new ArgumentException($"'{schemaName}' is not a component schema in {spec.Path}.", nameof(schemaName));
        // Lazy so concurrent first calls build once; a build failure is a bug in this helper and is rethrown every time.
        return Schemas.GetOrAdd(schemaName, name => new Lazy<JsonSchema>(() => Build(spec, name))).Value;
    }

    /// <summary>A standalone document with only the definitions <paramref name="name"/> reaches: far cheaper to build than all of them.</summary>
    private static JsonSchema Build(LoadedSpec spec, string name)
    {
        var needed = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([name]);
        while (pending.TryPop(out var current))
        {
            if (!needed.Add(current)) continue;
            foreach (var next in spec.References[current]) pending.Push(next);
        }

        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "https://json-schema.org/draft/2020-12/schema");
            w.WriteString("$id", SchemaId(name).ToString());
            w.WriteString("$ref", OpenApiSchemaTranslator.DefsRefPrefix + name);
            w.WriteStartObject("$defs");
            foreach (var def in needed)
            {
                w.WritePropertyName(def);
                spec.Defs[def].WriteTo(w);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }

        // A private registry: building registers the document, and the global registry is shared with other tests.
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        return JsonSchema.FromText(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), options, SchemaId(name));
    }

    private static Uri SchemaId(string name) => new($"urn:sanjia:openai-openapi:{Uri.EscapeDataString(name)}");

    private static LoadedSpec Load()
    {
        var path = OpenApiSpecLocator.Locate();
        // YamlDotNet rejects a block scalar whose only content is a line of spaces longer than the lines after it
        // (the spec has one in an `example: |+`), although YAML 1.2 allows it. Blanking whitespace-only lines only
        // changes whitespace inside descriptions and examples, which never take part in validation.
        var text = WhitespaceOnlyLine().Replace(File.ReadAllText(path, Encoding.UTF8), "");
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new InvalidOperationException($"{path}({e.Start.Line},{e.Start.Column}): {e.Message}", e);
        }

        if (stream.Documents.Count == 0
            || stream.Documents[0].RootNode is not YamlMappingNode root
            || Child(root, "components") is not YamlMappingNode components
            || Child(components, "schemas") is not YamlMappingNode schemas)
        {
            throw new InvalidOperationException($"{path} has no components.schemas.");
        }

        var defs = new JsonObject();
        var references = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (key, value) in schemas.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            defs[name] = OpenApiSchemaTranslator.Translate(name, YamlJson.ToJson(value), referenced);
            references[name] = [.. referenced];
        }

        var errata = OpenApiErrata.Apply(defs);

        foreach (var (name, referenced) in references)
        {
            var missing = referenced.Where(r => !defs.ContainsKey(r)).ToList();
            if (missing.Count > 0)
                throw new InvalidOperationException($"{path}: {name} references missing component(s) {string.Join(", ", missing)}.");
        }

        // JsonElement, unlike JsonNode, is safe to read from many threads at once.
        var parsed = JsonDocument.Parse(defs.ToJsonString()).RootElement;
        var elements = parsed.EnumerateObject().ToFrozenDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        return new LoadedSpec(path, elements, references.ToFrozenDictionary(StringComparer.Ordinal), errata);
    }

    [GeneratedRegex(@"^[ \t]+(?=\r?$)", RegexOptions.Multiline)]
    private static partial Regex WhitespaceOnlyLine();

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private sealed record LoadedSpec(
        string Path,
        FrozenDictionary<string, JsonElement> Defs,
        FrozenDictionary<string, string[]> References,
        IReadOnlyList<string> Errata);
}
