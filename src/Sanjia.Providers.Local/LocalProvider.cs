using Sanjia.Abstractions;
using Sanjia.Core.Models;

namespace Sanjia.Providers.Local;

/// <summary>The <c>local</c> provider: GGUF chat models and the MiniLM embedding model, all in-process.</summary>
internal sealed class LocalProvider(string describe, IReadOnlyList<LocalChatModel> chatModels, LocalEmbeddingBackend? embeddings) : IProvider, IKnowsContextWindow
{
    public string Name => LocalProviderSource.ProviderName;

    public string Describe { get; } = describe;

    public IChatBackend? Chat { get; } = chatModels.Count > 0 ? new LocalChatBackend(chatModels) : null;

    public IEmbeddingBackend? Embeddings { get; } = embeddings;

    public IReadOnlyList<(string Model, ModelKind Kind)> Models { get; } =
    [
        .. chatModels.Select(m => (m.Name, ModelKind.Chat)),
        .. embeddings is null ? [] : new[] { (MiniLmEncoder.ModelName, ModelKind.Embedding) },
    ];

    public bool AcceptsUnlistedModels => false;

    internal IReadOnlyList<LocalChatModel> ChatModels { get; } = chatModels;

    public int? ContextWindowOf(string model) => ChatModels.FirstOrDefault(m => m.Name == model)?.ContextWindow;
}
