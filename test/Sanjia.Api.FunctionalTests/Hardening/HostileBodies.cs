using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Sanjia.Api.FunctionalTests.Hardening;

/// <summary>One generated request: where it goes, the bytes, and what was done to the valid body it came from.</summary>
public sealed record HostileCase(string Path, byte[] Body, string Mutations)
{
    public override string ToString() => $"POST {Path} [{Mutations}] {Encoding.UTF8.GetString(Body)}";
}

/// <summary>
/// Generates hostile request bodies with FsCheck: a valid body of one of the gateway's inbound protocols (every field a
/// translation reads, for every backend), then one to four mutations of random nodes: null, a wrong type, a lone
/// surrogate escape, deep nesting, a huge or odd number, a long string, a removed or duplicated field, a wrapped or
/// stringified value; and in one case of six, an invalid UTF-8 byte sequence in a string (or anywhere).
/// Run count and seed: <see cref="Count"/> and <see cref="Seed"/> (environment <c>SANJIA_FUZZ_COUNT</c>, <c>SANJIA_FUZZ_SEED</c>).
/// </summary>
public static class HostileBodies
{
    /// <summary>Cases per property in the normal run; <c>SANJIA_FUZZ_COUNT</c> raises it before a release (docs/protocols.md).</summary>
    public static int Count(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("SANJIA_FUZZ_COUNT"), out var n) && n > 0 ? n : normal;

    /// <summary>The fixed seed of the normal run; <c>SANJIA_FUZZ_SEED</c> explores other corners.</summary>
    public static ulong Seed =>
        ulong.TryParse(Environment.GetEnvironmentVariable("SANJIA_FUZZ_SEED"), out var s) ? s : 20261206UL;

    public static readonly string[] ChatModels = ["fa/gpt-4o-mini", "claude/c", "gem/gemini-2.5-flash", "local/stories260K", "chat"];

    private const string Tools = """[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""";
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    /// <summary>Valid OpenAI Chat Completions bodies touching every field the translators read.</summary>
    public static IEnumerable<string> ChatBodies(string model) => Fill(model,
    [
        """{"model":"@MODEL@","max_tokens":8,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],"temperature":0.5,"top_p":0.9,"stop":["END"],"seed":1,"user":"u1"}""",
        """{"model":"@MODEL@","max_completion_tokens":8,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"developer","content":[{"type":"text","text":"Rules"}]},{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,@PNG@","detail":"low"}}]}]}""",
        """{"model":"@MODEL@","max_tokens":8,"tools":@TOOLS@,"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"Sunny"}]}""",
        """{"model":"@MODEL@","max_tokens":8,"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","properties":{"answer":{"type":"integer"}}}}},"reasoning_effort":"low","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK"}},{"type":"text","text":"Summarize"}]}]}""",
        """{"model":"@MODEL@","max_tokens":8,"stream":true,"tools":@TOOLS@,"tool_choice":"required","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Let me check","reasoning_content":"thinking","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"sig"}]},{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}},{"type":"text","text":"again"}]}],"response_format":{"type":"json_object"},"n":1,"drop_params":true}""",
    ]);

    /// <summary>Valid Anthropic Messages bodies (system blocks, tools, tool results, images, documents, thinking).</summary>
    public static IEnumerable<string> MessagesBodies(string model) => Fill(model,
    [
        """{"model":"@MODEL@","max_tokens":8,"system":"Be brief.","messages":[{"role":"user","content":"Hello"}],"temperature":0.5,"top_p":0.9,"top_k":5,"stop_sequences":["END"],"metadata":{"user_id":"u1"}}""",
        """{"model":"@MODEL@","max_tokens":8,"stream":true,"system":[{"type":"text","text":"Rules","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"@PNG@"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"}}]}]}""",
        """{"model":"@MODEL@","max_tokens":8,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":{"type":"tool","name":"get_weather"},"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"sig"},{"type":"text","text":"Checking"},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"Sunny"}],"is_error":false}]}]}""",
        """{"model":"@MODEL@","max_tokens":16,"thinking":{"type":"enabled","budget_tokens":8},"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},{"type":"text","text":"x"}]}],"drop_params":true}""",
    ]);

    /// <summary>Valid OpenAI Responses bodies (instructions, items, tool calls and outputs, images, files, structured output).</summary>
    public static IEnumerable<string> ResponsesBodies(string model) => Fill(model,
    [
        """{"model":"@MODEL@","max_output_tokens":16,"instructions":"Be brief.","input":"Hello","temperature":0.5,"top_p":0.9,"store":false}""",
        """{"model":"@MODEL@","max_output_tokens":16,"stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"data:image/png;base64,@PNG@"},{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK"}]}]}""",
        """{"model":"@MODEL@","max_output_tokens":16,"tools":[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":{"type":"function","name":"get_weather"},"input":[{"role":"user","content":"Weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"call_1","output":"Sunny"}]}""",
        """{"model":"@MODEL@","max_output_tokens":16,"text":{"format":{"type":"json_schema","name":"a","schema":{"type":"object"}}},"reasoning":{"effort":"low"},"input":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Earlier"}]},{"type":"message","role":"developer","content":"Rules"},{"role":"user","content":"Go"}]}""",
    ]);

    private static IEnumerable<string> Fill(string model, string[] templates) =>
        templates.Select(t => t.Replace("@MODEL@", model).Replace("@PNG@", Png).Replace("@TOOLS@", Tools));

    /// <summary>Every inbound route with its valid bodies (admin routes need the ids the fuzz gateway creates first).</summary>
    public static IReadOnlyList<(string Path, string Body)> Seeds { get; } = BuildSeeds();

    private static List<(string, string)> BuildSeeds()
    {
        var seeds = new List<(string, string)>();
        foreach (var m in ChatModels)
        {
            seeds.AddRange(ChatBodies(m).Select(b => ("/v1/chat/completions", b)));
            seeds.AddRange(MessagesBodies(m).Select(b => ("/v1/messages", b)));
            seeds.AddRange(ResponsesBodies(m).Select(b => ("/v1/responses", b)));
        }
        seeds.AddRange(MessagesBodies("claude/c").Select(b => ("/v1/messages/count_tokens", b)));
        seeds.AddRange(MessagesBodies("fa/gpt-4o-mini").Select(b => ("/v1/messages/count_tokens", b)));
        seeds.Add(("/v1/embeddings", """{"model":"fa/text-embedding-3-small","input":"Hello"}"""));
        seeds.Add(("/v1/embeddings", """{"model":"fa/text-embedding-3-small","input":["a","b"],"encoding_format":"base64","dimensions":8,"user":"u"}"""));
        seeds.Add(("/v1/embeddings", """{"model":"fa/text-embedding-3-small","input":[[1,2,3],[4]],"encoding_format":"float"}"""));
        seeds.Add(("/v1/prompts/greet/completions", """{"variables":{"name":"Ana","n":3,"ok":true},"max_tokens":8,"model":"fa/gpt-4o-mini"}"""));
        seeds.Add(("/v1/prompts/greet/completions", """{"version":1,"variables":{"name":"Ana","n":3,"ok":true},"stream":true,"model":"claude/c"}"""));
        seeds.Add(("/admin/keys", """{"name":"fuzz","allowed_models":["chat","fa/gpt-4o-mini"],"budget":{"amount":"5","currency":"USD","period":"daily"},"rpm_limit":600,"tpm_limit":100000,"metadata":{"owner":"ana"}}"""));
        seeds.Add(("/admin/teams", """{"name":"team","budget":{"amount":"50","currency":"USD","period":"monthly"},"metadata":{"a":"b"}}"""));
        seeds.Add(("/admin/prompts", """{"id":"p1","description":"d","model":"chat","defaults":{"max_tokens":20,"temperature":0},"messages":[{"role":"system","content":"One word."},{"role":"user","content":"Capital of {{country}}?"}],"variants":{"fa/gpt-4o-mini":[{"role":"user","content":"Capital of {{country}}?"}]},"note":"n"}"""));
        seeds.Add(("/admin/prompts/greet/versions", """{"messages":[{"role":"user","content":"Hi {{name}} {{n}} {{ok}}"}],"defaults":{"max_tokens":8},"model":"fa/gpt-4o-mini"}"""));
        seeds.Add(("/admin/prompts/greet/versions/1/variants", """{"model":"claude/c","messages":[{"role":"user","content":"Hello {{name}} {{n}} {{ok}}"}],"note":"x"}"""));
        seeds.Add(("/admin/aliases/chat/promote", """{"provider":"fa","model":"gpt-4o-mini"}"""));
        return seeds;
    }

    /// <summary>Routes updated with PATCH (key and team ids filled in by the fuzz gateway's set-up).</summary>
    public static IReadOnlyList<(string PathTemplate, string Body)> PatchSeeds { get; } =
    [
        ("/admin/keys/{key}", """{"name":"renamed","allowed_models":null,"budget":null,"rpm_limit":10,"metadata":{"x":"y"}}"""),
        ("/admin/teams/{team}", """{"name":"renamed","budget":{"amount":"1","currency":"USD","period":"total"}}"""),
    ];

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Cases over <paramref name="seeds"/>: a seed, 1–4 mutations, and one case in six with invalid UTF-8.</summary>
    public static Gen<HostileCase> Cases(IReadOnlyList<(string Path, string Body)> seeds) =>
        from seed in Gen.Choose(0, seeds.Count - 1)
        from count in Gen.Choose(1, 4)
        from picks in Gen.Choose(0, 1 << 30).ArrayOf(count * 3)
        from corrupt in Gen.Frequency((5, Gen.Constant(-1)), (1, Gen.Choose(0, 1 << 30)))
        select Mutate(seeds[seed].Path, seeds[seed].Body, picks, corrupt);

    public static Arbitrary<HostileCase> Arbitrary(IReadOnlyList<(string Path, string Body)> seeds) => Cases(seeds).ToArbitrary();

    private static readonly string[] LoneSurrogates = ["\"\\ud800x\"", "\"x\\udfff\"", "\"\\ud83d\"", "\"\\udc00\\ud800\"", "\"\\uDBFF\\u0041\""];
    private static readonly string[] HugeNumbers = ["1e400", "-1e400", "123456789012345678901234567890", "1.7976931348623157e309", "-0.0", "1e-400", "4294967296", "-2147483649", "0.5", "-1", "0"];
    private static readonly string[] Deep = [new string('[', 70) + new string(']', 70), new string('[', 300) + new string(']', 300),
        string.Concat(Enumerable.Repeat("{\"a\":", 70)) + "1" + new string('}', 70)];
    private static readonly byte[][] BadUtf8 = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xE2, 0x82], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80]];

    public static HostileCase Mutate(string path, string json, int[] picks, int corrupt)
    {
        var root = JsonNode.Parse(json)!;
        var notes = new List<string>();
        var raw = new Dictionary<string, string>();
        for (var i = 0; i + 2 < picks.Length; i += 3)
        {
            var nodes = new List<(JsonNode? Parent, string? Name, int Index, JsonNode? Node)>();
            Collect(root, null, null, -1, nodes);
            var (parent, name, index, node) = nodes[picks[i] % nodes.Count];
            var variant = picks[i + 2];
            var where = node?.GetPath() ?? parent?.GetPath() + "." + name;
            JsonNode? replacement;
            string what;
            switch (picks[i + 1] % 14)
            {
                case 0: replacement = null; what = "null"; break;
                case 1: replacement = JsonValue.Create(variant % 1000); what = "number"; break;
                case 2: replacement = JsonValue.Create(variant % 2 == 0); what = "bool"; break;
                case 3: replacement = JsonValue.Create(variant % 3 == 0 ? "" : "text"); what = "string"; break;
                case 4: replacement = new JsonArray(); what = "[]"; break;
                case 5: replacement = new JsonObject(); what = "{}"; break;
                case 6: replacement = Marker(raw, LoneSurrogates[variant % LoneSurrogates.Length]); what = "lone surrogate"; break;
                case 7: replacement = Marker(raw, HugeNumbers[variant % HugeNumbers.Length]); what = "odd number"; break;
                case 8: replacement = Marker(raw, Deep[variant % Deep.Length]); what = "deep nesting"; break;
                case 9: replacement = JsonValue.Create(new string('x', 1 + variant % 20_000)); what = "long string"; break;
                case 10: replacement = new JsonArray(node?.DeepClone()); what = "wrapped in []"; break;
                case 11: replacement = JsonValue.Create(node?.ToJsonString() ?? "null"); what = "stringified"; break;
                case 12:
                    if (parent is JsonObject po && name is not null) { po.Remove(name); notes.Add($"{where}: removed"); }
                    else if (parent is JsonArray pa) { pa.RemoveAt(index); notes.Add($"{where}: removed"); }
                    continue;
                default:
                    if (node is JsonObject o) { o["x_" + variant % 7] = JsonValue.Create(variant); notes.Add($"{where}: extra field"); }
                    else if (node is JsonArray a) { a.Add(a.Count > 0 ? a[variant % a.Count]?.DeepClone() : null); notes.Add($"{where}: extra item"); }
                    continue;
            }
            notes.Add($"{where}: {what}");
            if (parent is null) root = replacement ?? JsonValue.Create(0)!;
            else if (parent is JsonObject obj) obj[name!] = replacement;
            else ((JsonArray)parent)[index] = replacement;
        }
        var text = root.ToJsonString(Relaxed);
        foreach (var (marker, value) in raw) text = text.Replace($"\"{marker}\"", value, StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(text);
        if (corrupt >= 0)
        {
            (bytes, var note) = Corrupt(bytes, corrupt);
            notes.Add(note);
        }
        return new HostileCase(path, bytes, string.Join("; ", notes));
    }

    private static JsonNode Marker(Dictionary<string, string> raw, string value)
    {
        var marker = $"@@raw{raw.Count}@@";
        raw[marker] = value;
        return JsonValue.Create(marker);
    }

    /// <summary>Every node of the tree with its parent (the root has none), depth first.</summary>
    private static void Collect(JsonNode? node, JsonNode? parent, string? name, int index, List<(JsonNode?, string?, int, JsonNode?)> into)
    {
        into.Add((parent, name, index, node));
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList()) Collect(v, o, k, -1, into);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) Collect(a[i], a, null, i, into);
                break;
        }
    }

    /// <summary>Puts an invalid UTF-8 sequence inside a string (four times in five) or at any byte.</summary>
    private static (byte[], string) Corrupt(byte[] bytes, int pick)
    {
        var bad = BadUtf8[pick % BadUtf8.Length];
        var inString = new List<int>();
        var open = false;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '"' && (i == 0 || bytes[i - 1] != '\\')) open = !open;
            else if (open) inString.Add(i);
        }
        var at = pick % 5 != 0 && inString.Count > 0 ? inString[pick / 5 % inString.Count] : pick / 5 % bytes.Length;
        var result = new byte[bytes.Length + bad.Length - 1];
        bytes.AsSpan(0, at).CopyTo(result);
        bad.CopyTo(result, at);
        bytes.AsSpan(at + 1).CopyTo(result.AsSpan(at + bad.Length));
        return (result, $"invalid UTF-8 {Convert.ToHexString(bad)} at byte {at}");
    }
}
