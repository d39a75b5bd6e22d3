using System.Text.Json.Nodes;

namespace Sanjia.Core.Prompts;

/// <summary>One chat message of a prompt template; <c>{{name}}</c> marks a variable.</summary>
public sealed record PromptMessage(string Role, string Content);

/// <summary>
/// One immutable version of a prompt: the default messages, optional per-model variants (keyed by the model id a
/// client sends, an alias or <c>provider/model</c>), an optional default model and request fields.
/// </summary>
public sealed record PromptVersion
{
    public int Version { get; init; }
    public required IReadOnlyList<PromptMessage> Messages { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyList<PromptMessage>> Variants { get; init; } = new Dictionary<string, IReadOnlyList<PromptMessage>>();

    /// <summary>The model used when the caller names none.</summary>
    public string? Model { get; init; }

    /// <summary>Request fields sent with every call (<c>max_tokens</c>, <c>temperature</c>, ...); the caller's own fields win.</summary>
    public JsonObject? Defaults { get; init; }

    public string? Note { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The messages for a model: its variant when there is one for the requested id, else for the deployment, else the default.</summary>
    public (IReadOnlyList<PromptMessage> Messages, string? Variant) Select(string requestedModel, string? firstDeployment)
    {
        foreach (var key in new[] { requestedModel, firstDeployment })
        {
            if (key is null) continue;
            foreach (var (k, v) in Variants)
            {
                if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return (v, k);
            }
        }
        return (Messages, null);
    }
}

/// <summary>A named prompt and its versions, oldest first.</summary>
public sealed record Prompt(string Id, string? Description, DateTimeOffset CreatedAt, IReadOnlyList<PromptVersion> Versions)
{
    public PromptVersion Latest => Versions[^1];

    public PromptVersion? Find(int version) => Versions.FirstOrDefault(v => v.Version == version);
}
