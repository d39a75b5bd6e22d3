using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Sanjia.Evaluation.Graders;

/// <summary>
/// <c>json_schema</c>: the answer is JSON valid against <c>schema</c> (inline) or <c>schema_file</c>. A Markdown code
/// fence around the JSON is allowed, since models add one even when asked not to.
/// </summary>
public sealed class JsonSchemaGrader : IGrader
{
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };
    private readonly JsonSchema _schema;

    public JsonSchemaGrader(GraderSettings s, string? baseDirectory = null)
    {
        var inline = s.Node("schema");
        var file = s.String("schema_file");
        string text;
        if (inline is not null && file is null)
        {
            text = inline.ToJsonString();
        }
        else if (file is not null && inline is null)
        {
            var path = Path.IsPathRooted(file) || baseDirectory is null ? file : Path.Combine(baseDirectory, file);
            if (!File.Exists(path)) throw s.Error("schema_file", $"'{path}' not found.");
            text = File.ReadAllText(path);
        }
        else
        {
            throw s.Error("schema", "give exactly one of 'schema' and 'schema_file'.");
        }
        try
        {
            // A private registry: schemas with the same $id in different cases must not collide.
            _schema = JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        }
        catch (Exception e) when (e is JsonException or JsonSchemaException or ArgumentException or InvalidOperationException)
        {
            throw s.Error("schema", $"not a usable JSON schema: {e.Message}");
        }
        s.RejectUnknown();
    }

    public ValueTask<Grade> GradeAsync(GradeContext context, CancellationToken cancellationToken)
    {
        var json = StripFence(context.Output);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            return ValueTask.FromResult(Grade.Fail($"not JSON: {e.Message}"));
        }
        using (doc)
        {
            var result = _schema.Evaluate(doc.RootElement, Evaluation);
            if (result.IsValid) return ValueTask.FromResult(Grade.Pass());
            var first = result.Details?.FirstOrDefault(d => d.Errors is { Count: > 0 });
            var reason = first?.Errors is { } errors ? $"{first.InstanceLocation}: {errors.First().Value}" : "does not match the schema";
            return ValueTask.FromResult(Grade.Fail(reason));
        }
    }

    internal static string StripFence(string text)
    {
        var t = text.Trim();
        if (!t.StartsWith("```", StringComparison.Ordinal)) return t;
        var firstLine = t.IndexOf('\n');
        var end = t.LastIndexOf("```", StringComparison.Ordinal);
        return firstLine < 0 || end <= firstLine ? t : t[(firstLine + 1)..end].Trim();
    }
}
