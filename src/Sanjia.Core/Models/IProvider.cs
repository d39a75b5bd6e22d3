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

    /// <summary>Image generation, for providers that have it (OpenAI-compatible image APIs, Stable Diffusion servers).</summary>
    IImageBackend? Images => null;

    /// <summary>A moderation endpoint in OpenAI's <c>/v1/moderations</c> format, for providers that have one (the guard model's <c>openai-moderation</c> format).</summary>
    IModerationBackend? Moderations => null;

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

/// <summary>
/// A provider that can tell whether a newly built one has the same settings: a configuration reload then keeps the
/// running one (and its open connections) instead of replacing it (<see cref="Configuration.GatewaySnapshotBuilder"/>).
/// </summary>
public interface IReusableProvider
{
    bool SameSettings(IProvider other);
}

/// <summary>Compares providers' resolved settings for <see cref="IReusableProvider"/>.</summary>
public static class ProviderSettings
{
    /// <summary>
    /// Whether two resolved settings say the same, compared by value through their JSON form: the settings records
    /// hold lists, dictionaries and option classes, which record equality compares by reference. Runs on reload only.
    /// </summary>
    public static bool Same<T>(T a, T b) where T : class =>
        ReferenceEquals(a, b) || System.Text.Json.JsonSerializer.Serialize(a, a.GetType()) == System.Text.Json.JsonSerializer.Serialize(b, b.GetType());
}
