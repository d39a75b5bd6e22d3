using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace Sanjia.Evaluation.Suites;

/// <summary>
/// Reads a suite from YAML (<c>.yaml</c>/<c>.yml</c>), one JSON document (<c>.json</c>) or JSON Lines (<c>.jsonl</c>:
/// one case per line, plus an optional header line <c>{"suite": {...}}</c> holding everything but the cases).
/// Both become the same JSON tree, read by one parser, so the formats cannot drift apart. See docs/compare.md.
/// </summary>
public static partial class SuiteLoader
{
    private static readonly HashSet<string> RootFields = ["name", "defaults", "graders", "template", "cases"];
    private static readonly HashSet<string> CaseFields = ["id", "messages", "prompt", "system", "vars", "expected", "graders"];

    public static EvalSuite Load(string path)
    {
        if (!File.Exists(path)) throw new SuiteFormatException($"{path}: file not found.");
        var text = File.ReadAllText(path);
        var name = Path.GetFileNameWithoutExtension(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".yaml" or ".yml" => FromYaml(text, path, name),
            ".jsonl" => FromJsonLines(text, path, name),
            ".json" => FromJson(text, path, name),
            var ext => throw new SuiteFormatException($"{path}: unknown suite format '{ext}'; use .yaml, .yml, .json or .jsonl."),
        };
    }

    public static EvalSuite FromYaml(string yaml, string source = "suite.yaml", string defaultName = "suite")
    {
        JsonNode? root;
        try
        {
            root = YamlToJson.Parse(yaml);
        }
        catch (YamlException e)
        {
            throw new SuiteFormatException($"{source}: line {e.Start.Line}: {e.Message}");
        }
        return Parse(root as JsonObject ?? throw new SuiteFormatException($"{source}: the document must be a mapping with 'cases'."), source, defaultName);
    }

    public static EvalSuite FromJson(string json, string source = "suite.json", string defaultName = "suite")
    {
        var root = ParseJson(json, source);
        return Parse(root as JsonObject ?? throw new SuiteFormatException($"{source}: the document must be an object with 'cases'."), source, defaultName);
    }

    public static EvalSuite FromJsonLines(string jsonl, string source = "suite.jsonl", string defaultName = "suite")
    {
        var root = new JsonObject();
        var cases = new JsonArray();
        var lines = jsonl.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal)) continue;
            var where = $"{source}: line {i + 1}";
            if (ParseJson(line, where) is not JsonObject obj) throw new SuiteFormatException($"{where}: each line must be a JSON object.");
            if (obj["suite"] is JsonObject header)
            {
                foreach (var (k, v) in header.ToList())
                {
                    header.Remove(k);
                    root[k] = v;
                }
                continue;
            }
            obj["$line"] = i + 1;
            cases.Add(obj);
        }
        root["cases"] = cases;
        return Parse(root, source, defaultName);
    }

    private static JsonNode? ParseJson(string json, string where)
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new SuiteFormatException($"{where}: not valid JSON: {e.Message}");
        }
    }

    private static EvalSuite Parse(JsonObject root, string source, string defaultName)
    {
        Unknown(root, RootFields, source);
        var name = Text(root["name"], $"{source}: name") ?? defaultName;
        var defaults = root["defaults"] switch
        {
            null => new JsonObject(),
            JsonObject o => (JsonObject)o.DeepClone(),
            _ => throw new SuiteFormatException($"{source}: defaults: must be a mapping of request fields (max_tokens, temperature, ...)."),
        };
        foreach (var reserved in new[] { "model", "messages", "stream" })
        {
            if (defaults.ContainsKey(reserved)) throw new SuiteFormatException($"{source}: defaults.{reserved}: set by the runner, not the suite.");
        }
        var defaultGraders = Graders(root["graders"], $"{source}: graders");
        var template = Template(root["template"], $"{source}: template");

        if (root["cases"] is not JsonArray caseNodes || caseNodes.Count == 0)
        {
            throw new SuiteFormatException($"{source}: cases: a suite needs at least one case.");
        }
        var cases = new List<EvalCase>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < caseNodes.Count; i++)
        {
            var node = caseNodes[i] as JsonObject ?? throw new SuiteFormatException($"{source}: cases[{i}]: must be a mapping.");
            var where = node["$line"] is { } line ? $"{source}: line {line}" : $"{source}: cases[{i}]";
            node.Remove("$line");
            var c = Case(node, i, where, template, defaultGraders);
            if (!ids.Add(c.Id)) throw new SuiteFormatException($"{where}: id '{c.Id}' is used twice.");
            cases.Add(c);
        }
        return new EvalSuite(name, cases, defaults) { Fingerprint = Fingerprint(defaults, cases) };
    }

    private static EvalCase Case(JsonObject node, int index, string where, IReadOnlyList<EvalMessage>? template, IReadOnlyList<GraderSpec> defaultGraders)
    {
        Unknown(node, CaseFields, where);
        var id = node["id"] is JsonValue idValue ? idValue.ToString() : $"case-{index + 1}";
        where = $"{where} (id {id})";
        var vars = Variables(node["vars"], where);

        List<EvalMessage> messages;
        var sources = new[] { "messages", "prompt" }.Count(node.ContainsKey) + (template is not null && vars is not null ? 1 : 0);
        if (node["messages"] is { } m)
        {
            messages = Messages(m, $"{where}: messages");
        }
        else if (node["prompt"] is { } p)
        {
            messages = [new EvalMessage("user", Text(p, $"{where}: prompt")!)];
        }
        else if (template is not null)
        {
            messages = [.. template];
        }
        else
        {
            throw new SuiteFormatException($"{where}: give 'messages', 'prompt', or 'vars' with a suite 'template'.");
        }
        if (sources > 1) throw new SuiteFormatException($"{where}: use only one of 'messages', 'prompt' and 'vars' + template.");
        if (node["system"] is { } system)
        {
            messages.Insert(0, new EvalMessage("system", Text(system, $"{where}: system")!));
        }
        if (vars is not null || template is not null)
        {
            messages = [.. messages.Select(msg => msg with { Content = Fill(msg.Content, vars ?? [], where) })];
        }
        var graders = node["graders"] is { } g ? Graders(g, $"{where}: graders") : defaultGraders;
        if (graders.Count == 0) throw new SuiteFormatException($"{where}: no graders: add 'graders' to the case or the suite.");
        return new EvalCase(id, messages, node["expected"]?.DeepClone(), graders);
    }

    private static string Fill(string text, Dictionary<string, string> vars, string where) =>
        Placeholder().Replace(text, match =>
        {
            var name = match.Groups[1].Value;
            return vars.TryGetValue(name, out var value) ? value
                : throw new SuiteFormatException($"{where}: vars: the template uses '{{{{{name}}}}}' but the case does not set '{name}'.");
        });

    private static Dictionary<string, string>? Variables(JsonNode? node, string where) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => kv.Value switch
        {
            null => "",
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var other => other.ToJsonString(),
        }, StringComparer.Ordinal),
        _ => throw new SuiteFormatException($"{where}: vars: must be a mapping of names to values."),
    };

    private static IReadOnlyList<EvalMessage>? Template(JsonNode? node, string where) => node switch
    {
        null => null,
        JsonValue => [new EvalMessage("user", Text(node, where)!)],
        JsonArray => Messages(node, where),
        _ => throw new SuiteFormatException($"{where}: a text (the user message) or a list of messages."),
    };

    private static List<EvalMessage> Messages(JsonNode node, string where)
    {
        if (node is not JsonArray array || array.Count == 0) throw new SuiteFormatException($"{where}: must be a non-empty list of {{role, content}}.");
        var list = new List<EvalMessage>();
        for (var i = 0; i < array.Count; i++)
        {
            var at = $"{where}[{i}]";
            if (array[i] is not JsonObject msg) throw new SuiteFormatException($"{at}: must be a mapping with role and content.");
            var role = Text(msg["role"], $"{at}.role") ?? throw new SuiteFormatException($"{at}.role: missing.");
            if (role is not ("system" or "developer" or "user" or "assistant"))
            {
                throw new SuiteFormatException($"{at}.role: '{role}' is not one of system, developer, user, assistant.");
            }
            list.Add(new EvalMessage(role, Text(msg["content"], $"{at}.content") ?? throw new SuiteFormatException($"{at}.content: missing.")));
        }
        return list;
    }

    private static List<GraderSpec> Graders(JsonNode? node, string where)
    {
        if (node is null) return [];
        if (node is not JsonArray array) throw new SuiteFormatException($"{where}: must be a list of graders.");
        var list = new List<GraderSpec>();
        for (var i = 0; i < array.Count; i++)
        {
            var at = $"{where}[{i}]";
            switch (array[i])
            {
                case JsonValue v when v.TryGetValue<string>(out var type):
                    list.Add(new GraderSpec(type, 1, [], at));
                    break;
                case JsonObject o:
                    var settings = (JsonObject)o.DeepClone();
                    var t = Text(settings["type"], $"{at}.type") ?? throw new SuiteFormatException($"{at}.type: missing (e.g. contains, regex, judge).");
                    settings.Remove("type");
                    var weight = 1.0;
                    if (settings["weight"] is { } w)
                    {
                        weight = w is JsonValue wv && wv.TryGetValue<double>(out var d) && d >= 0 ? d
                            : throw new SuiteFormatException($"{at}.weight: must be a number ≥ 0.");
                        settings.Remove("weight");
                    }
                    list.Add(new GraderSpec(t, weight, settings, at));
                    break;
                default:
                    throw new SuiteFormatException($"{at}: a grader type name or a mapping with 'type'.");
            }
        }
        return list;
    }

    private static string? Text(JsonNode? node, string where) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => throw new SuiteFormatException($"{where}: must be text."),
    };

    private static void Unknown(JsonObject obj, HashSet<string> known, string where)
    {
        foreach (var (key, _) in obj)
        {
            if (!known.Contains(key) && key != "$line")
            {
                throw new SuiteFormatException($"{where}: unknown field '{key}' (expected one of {string.Join(", ", known)}).");
            }
        }
    }

    private static string Fingerprint(JsonObject defaults, List<EvalCase> cases)
    {
        var canonical = new StringBuilder(defaults.ToJsonString());
        foreach (var c in cases)
        {
            canonical.Append('\n').Append(c.Id).Append('\u0001').Append(c.ExpectedText);
            foreach (var m in c.Messages) canonical.Append('\u0001').Append(m.Role).Append('\u0002').Append(m.Content);
            foreach (var g in c.Graders)
            {
                canonical.Append('\u0001').Append(g.Type).Append(g.Weight.ToString(CultureInfo.InvariantCulture)).Append(g.Settings.ToJsonString());
            }
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))[..16].ToLowerInvariant();
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")]
    private static partial Regex Placeholder();
}
