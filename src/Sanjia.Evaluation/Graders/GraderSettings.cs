using System.Text.Json.Nodes;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Evaluation.Graders;

/// <summary>Typed reads of a grader's settings; every error names the suite path of the setting.</summary>
public sealed class GraderSettings(GraderSpec spec, EvalCase @case)
{
    private readonly HashSet<string> _read = ["name"];

    public GraderSpec Spec => spec;

    public EvalCase Case => @case;

    public SuiteFormatException Error(string setting, string message) =>
        new($"{spec.Path}.{setting} (case {@case.Id}, {spec.Type}): {message}");

    public string? String(string name)
    {
        _read.Add(name);
        return spec.Settings[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v => v.ToJsonString(),
            _ => throw Error(name, "must be text."),
        };
    }

    public string RequiredString(string name) => String(name) ?? throw Error(name, "is required.");

    public bool Bool(string name, bool fallback)
    {
        _read.Add(name);
        return spec.Settings[name] switch
        {
            null => fallback,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw Error(name, "must be true or false."),
        };
    }

    public double? Number(string name)
    {
        _read.Add(name);
        return spec.Settings[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<double>(out var d) => d,
            JsonValue v when v.TryGetValue<long>(out var l) => l,
            JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var p) => p,
            _ => throw Error(name, "must be a number."),
        };
    }

    public JsonNode? Node(string name)
    {
        _read.Add(name);
        return spec.Settings[name];
    }

    /// <summary>The grader's <c>value</c> setting, else the case's <c>expected</c>; required.</summary>
    public JsonNode ExpectedNode()
    {
        var node = Node("value") ?? @case.Expected;
        return node ?? throw new SuiteFormatException($"{spec.Path} (case {@case.Id}, {spec.Type}): needs the case's 'expected' or a 'value' setting.");
    }

    public string ExpectedText() => ExpectedNode() switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var n => n.ToJsonString(),
    };

    /// <summary>Call after reading every setting: a misspelt setting is an error, not silently ignored.</summary>
    public void RejectUnknown()
    {
        foreach (var (key, _) in spec.Settings)
        {
            if (!_read.Contains(key)) throw Error(key, $"unknown setting for '{spec.Type}' (known: {string.Join(", ", _read.Order())}).");
        }
    }
}
