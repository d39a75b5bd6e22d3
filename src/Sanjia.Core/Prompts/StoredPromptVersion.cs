using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sanjia.Core.Prompts;

/// <summary>
/// The JSON shape of a stored prompt version (concrete collection types for the serializer), shared by every prompt
/// store (SQLite, PostgreSQL) so that <c>sanjia db copy</c> moves versions unchanged.
/// </summary>
public sealed record StoredPromptVersion(int Version, List<PromptMessage> Messages, Dictionary<string, List<PromptMessage>> Variants,
    string? Model, JsonObject? Defaults, string? Note, DateTimeOffset CreatedAt)
{
    public static JsonSerializerOptions Json => Sanjia.Core.Json.SanjiaJson.Stored;

    public static StoredPromptVersion From(PromptVersion v) => new(v.Version, [.. v.Messages],
        v.Variants.ToDictionary(x => x.Key, x => x.Value.ToList()), v.Model, v.Defaults, v.Note, v.CreatedAt);

    public PromptVersion ToVersion() => new()
    {
        Version = Version,
        Messages = Messages,
        Variants = Variants.ToDictionary(x => x.Key, x => (IReadOnlyList<PromptMessage>)x.Value, StringComparer.OrdinalIgnoreCase),
        Model = Model,
        Defaults = Defaults,
        Note = Note,
        CreatedAt = CreatedAt,
    };
}
