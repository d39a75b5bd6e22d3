using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sanjia.Abstractions;

namespace Sanjia.Core.Prompts;

/// <summary>
/// Template rules shared by the library, the prompt endpoint and the migration flow: <c>{{name}}</c> variables
/// (letters, digits, <c>_ - .</c>; spaces inside the braces allowed), every variable must be given and no unknown one.
/// </summary>
public static partial class PromptTemplate
{
    public static readonly IReadOnlySet<string> Roles = new HashSet<string>(StringComparer.Ordinal) { "system", "developer", "user", "assistant" };

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")]
    private static partial Regex IdPattern();

    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    /// <summary>The variables the messages use, in first-use order.</summary>
    public static IReadOnlyList<string> Variables(IEnumerable<PromptMessage> messages) =>
        [.. messages.SelectMany(m => Variable().Matches(m.Content).Select(x => x.Groups[1].Value)).Distinct(StringComparer.Ordinal)];

    /// <summary>Fills the variables; an error names the missing or unknown ones.</summary>
    public static (IReadOnlyList<PromptMessage>? Messages, GatewayError? Error) Render(IReadOnlyList<PromptMessage> messages, IReadOnlyDictionary<string, string> values)
    {
        var used = Variables(messages);
        var missing = used.Where(v => !values.ContainsKey(v)).ToList();
        if (missing.Count > 0)
        {
            return (null, GatewayError.Invalid($"Missing prompt variable(s): {string.Join(", ", missing)}. The template uses: {string.Join(", ", used)}.", "variables", "missing_variable"));
        }
        var unknown = values.Keys.Where(k => !used.Contains(k, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            return (null, GatewayError.Invalid($"Unknown prompt variable(s): {string.Join(", ", unknown)}. The template uses: {(used.Count == 0 ? "none" : string.Join(", ", used))}.", "variables", "unknown_variable"));
        }
        return ([.. messages.Select(m => m with { Content = Variable().Replace(m.Content, x => values[x.Groups[1].Value]) })], null);
    }

    /// <summary>Reads <c>[{"role":..., "content":...}]</c>; the error names the offending path.</summary>
    public static (IReadOnlyList<PromptMessage>? Messages, string? Error) ReadMessages(JsonNode? node, string path)
    {
        if (node is not JsonArray array || array.Count == 0) return (null, $"'{path}' must be a non-empty array of {{\"role\", \"content\"}} messages.");
        var list = new List<PromptMessage>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject m) return (null, $"'{path}[{i}]' must be an object with 'role' and 'content'.");
            var role = m["role"] is JsonValue r && r.TryGetValue<string>(out var rs) ? rs : null;
            var content = m["content"] is JsonValue c && c.TryGetValue<string>(out var cs) ? cs : null;
            if (role is null || !Roles.Contains(role)) return (null, $"'{path}[{i}].role' must be one of {string.Join(", ", Roles)}.");
            if (content is null) return (null, $"'{path}[{i}].content' must be text.");
            list.Add(new PromptMessage(role, content));
        }
        return (list, null);
    }

    /// <summary>A chat request body: the version's defaults, then the caller's fields, then model and messages.</summary>
    public static byte[] BuildRequest(PromptVersion version, IReadOnlyList<PromptMessage> messages, string model, JsonObject? callerFields)
    {
        var body = version.Defaults?.DeepClone().AsObject() ?? new JsonObject();
        foreach (var (k, v) in callerFields ?? [])
        {
            body[k] = v?.DeepClone();
        }
        body["model"] = model;
        body["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }
}
