using System.Text.Json.Nodes;
using Sanjia.Core.Prompts;

namespace Sanjia.Api.Prompts;

/// <summary>The admin API's JSON for prompts and versions, in and out.</summary>
internal static class PromptJson
{
    /// <summary>Reads a version's fields (<c>messages</c>, <c>variants</c>, <c>model</c>, <c>defaults</c>, <c>note</c>); the error names the field.</summary>
    public static (PromptVersion? Version, string? Error) ReadVersion(JsonObject o, DateTimeOffset now)
    {
        var (messages, error) = PromptTemplate.ReadMessages(o["messages"], "messages");
        if (error is not null) return (null, error);
        var variants = new Dictionary<string, IReadOnlyList<PromptMessage>>(StringComparer.OrdinalIgnoreCase);
        if (o["variants"] is { } vNode)
        {
            if (vNode is not JsonObject vo) return (null, "'variants' must be an object mapping a model id to its messages.");
            foreach (var (model, node) in vo)
            {
                if (string.IsNullOrWhiteSpace(model)) return (null, "'variants' has an empty model id.");
                var (vm, ve) = PromptTemplate.ReadMessages(node, $"variants.{model}");
                if (ve is not null) return (null, ve);
                variants[model] = vm!;
            }
        }
        if (o["model"] is { } m && (m is not JsonValue mv || !mv.TryGetValue<string>(out var ms) || string.IsNullOrWhiteSpace(ms))) return (null, "'model' must be a model id.");
        if (o["defaults"] is { } d && d is not JsonObject) return (null, "'defaults' must be an object of request fields.");
        if (o["defaults"] is JsonObject defaults)
        {
            foreach (var reserved in new[] { "model", "messages" })
            {
                if (defaults.ContainsKey(reserved)) return (null, $"'defaults.{reserved}' is not allowed: set it with the prompt's own field.");
            }
        }
        return (new PromptVersion
        {
            Messages = messages!,
            Variants = variants,
            Model = o["model"]?.GetValue<string>(),
            Defaults = (JsonObject?)o["defaults"]?.DeepClone(),
            Note = o["note"] is JsonValue n && n.TryGetValue<string>(out var note) ? note : null,
            CreatedAt = now,
        }, null);
    }

    public static JsonObject Write(Prompt p, bool allVersions = true) => new()
    {
        ["id"] = p.Id,
        ["object"] = "prompt",
        ["description"] = p.Description,
        ["created_at"] = p.CreatedAt.ToUnixTimeSeconds(),
        ["latest_version"] = p.Latest.Version,
        ["versions"] = allVersions ? new JsonArray([.. p.Versions.Select(v => (JsonNode)Write(p.Id, v))]) : null,
    };

    public static JsonObject Write(string id, PromptVersion v) => new()
    {
        ["prompt_id"] = id,
        ["object"] = "prompt.version",
        ["version"] = v.Version,
        ["messages"] = Messages(v.Messages),
        ["variants"] = new JsonObject(v.Variants.Select(x => KeyValuePair.Create(x.Key, (JsonNode?)Messages(x.Value)))),
        ["variables"] = new JsonArray([.. PromptTemplate.Variables(v.Messages.Concat(v.Variants.Values.SelectMany(x => x))).Select(x => (JsonNode)x)]),
        ["model"] = v.Model,
        ["defaults"] = v.Defaults?.DeepClone(),
        ["note"] = v.Note,
        ["created_at"] = v.CreatedAt.ToUnixTimeSeconds(),
    };

    private static JsonArray Messages(IEnumerable<PromptMessage> messages) =>
        new([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
}
