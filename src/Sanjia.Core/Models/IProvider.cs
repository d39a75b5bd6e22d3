using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Models;

/// <summary>A configured provider: one upstream account or local engine, serving models as <c>name/model</c>.</summary>
public interface IProvider
{
    /// <summary>The prefix of its model ids, e.g. <c>deepseek</c> or <c>local</c>.</summary>
    string Name { get; }

    /// <summary>One line for the start-up banner: where it is and where its key comes from.</summary>
    string Describe { get; }

    IChatBackend? Chat { get; }

    IEmbeddingBackend? Embeddings { get; }

    /// <summary>Model names (without the provider prefix) listed by <c>/v1/models</c>.</summary>
    IReadOnlyList<(string Model, ModelKind Kind)> Models { get; }

    /// <summary>Cloud providers forward any model name; local ones serve only what they have.</summary>
    bool AcceptsUnlistedModels { get; }
}

/// <summary>Each provider assembly registers one: it turns configuration into providers.</summary>
public interface IProviderSource
{
    IEnumerable<IProvider> Create(SanjiaOptions options, ConfigErrors errors);
}
