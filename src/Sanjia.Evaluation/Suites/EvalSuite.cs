using System.Text.Json.Nodes;

namespace Sanjia.Evaluation.Suites;

/// <summary>One chat message of a case, after template variables are filled in.</summary>
public sealed record EvalMessage(string Role, string Content);

/// <summary>A grader as written in the suite: its type name, optional weight and its own settings.</summary>
public sealed record GraderSpec(string Type, double Weight, JsonObject Settings, string Path)
{
    /// <summary>A label for reports: the optional <c>name</c> setting, else the type.</summary>
    public string Label => Settings["name"]?.GetValue<string>() ?? Type;
}

/// <summary>One case: the messages sent to every model, what a good answer looks like, and how it is graded.</summary>
public sealed record EvalCase(
    string Id,
    IReadOnlyList<EvalMessage> Messages,
    JsonNode? Expected,
    IReadOnlyList<GraderSpec> Graders)
{
    /// <summary>The expected value as text (numbers in invariant form), or null.</summary>
    public string? ExpectedText => Expected switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => Expected.ToJsonString(),
    };
}

/// <summary>Request fields every case sends (model-independent), e.g. <c>max_tokens</c>, <c>temperature</c>.</summary>
public sealed record EvalSuite(string Name, IReadOnlyList<EvalCase> Cases, JsonObject RequestDefaults)
{
    /// <summary>A fingerprint of everything that changes results: a resumed run must use the same suite.</summary>
    public string Fingerprint { get; init; } = "";
}
