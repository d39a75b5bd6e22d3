namespace Sanjia.Abstractions;

public enum ModelKind { Chat, Embedding, Image }

public static class ModelKindText
{
    /// <summary>The kind in a sentence, with its article: "a chat model", "an embedding model", "an image model".</summary>
    public static string WithArticle(this ModelKind kind) => kind switch
    {
        ModelKind.Embedding => "an embedding model",
        ModelKind.Image => "an image model",
        _ => "a chat model",
    };
}

/// <summary>A model as listed by <c>GET /v1/models</c>.</summary>
public sealed record ModelInfo(string Id, ModelKind Kind, string OwnedBy, DateTimeOffset Created);

/// <summary>A provider that knows the context window of the models it serves (a local model's loaded context).</summary>
public interface IKnowsContextWindow
{
    /// <summary>Tokens a prompt and its answer must fit in for <paramref name="model"/>; null when unknown.</summary>
    int? ContextWindowOf(string model);
}
