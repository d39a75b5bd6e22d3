namespace Sanjia.Core.Caching.Semantic;

/// <summary>
/// <c>Sanjia:Cache:Semantic</c>: the semantic cache's defaults (docs/caching.md). It is opt-in per alias
/// (<see cref="AliasSemanticOptions"/>); these only give what an alias leaves unset, and the index's size.
/// </summary>
public sealed class SemanticCacheOptions
{
    /// <summary>The embedding model (an alias or <c>provider/model</c>) the last user turn is embedded with.</summary>
    public string EmbeddingModel { get; set; } = SemanticPolicy.DefaultEmbeddingModel;

    /// <summary>The least cosine similarity a stored question must have to answer (see <see cref="SemanticPolicy.DefaultThreshold"/>).</summary>
    public double Threshold { get; set; } = SemanticPolicy.DefaultThreshold;

    /// <summary>The most questions the vector index holds across aliases (about 460 bytes each at 384 dimensions). Read at start-up.</summary>
    public int MaxEntries { get; set; } = 100_000;
}

/// <summary><c>Sanjia:Models:&lt;alias&gt;:Cache:Semantic</c>: the alias's own semantic cache; unset fields come from <c>Sanjia:Cache:Semantic</c>.</summary>
public sealed class AliasSemanticOptions
{
    /// <summary>Answer paraphrases of stored questions (turns the alias's exact cache on too, unless <c>Cache:Enabled</c> says otherwise).</summary>
    public bool Enabled { get; set; }

    public string? EmbeddingModel { get; set; }

    public double? Threshold { get; set; }
}

/// <summary>The semantic cache's rules for one alias, resolved with its <see cref="CachePolicy"/>.</summary>
public sealed record SemanticPolicy(string EmbeddingModel, float Threshold)
{
    /// <summary>
    /// Compare only texts mostly in Latin script: true when the embedding model is (or is an alias over) the built-in
    /// MiniLM, whose tokenizer turns a run of Chinese characters into one unknown token, so that every all-Chinese
    /// question embeds to one and the same vector (measured: a similarity of 1.000 between unrelated Chinese
    /// questions). Other texts are left to the exact cache. Set by <see cref="Validate"/> from the embedding model's
    /// deployments, while the registry that holds this policy is built (before any request sees it).
    /// </summary>
    public bool LatinScriptOnly { get; private set; } = string.Equals(EmbeddingModel, DefaultEmbeddingModel, StringComparison.OrdinalIgnoreCase);

    /// <summary>The built-in MiniLM, served in-process by the local provider (<c>Sanjia:Local:Embeddings</c>).</summary>
    public const string DefaultEmbeddingModel = "local/all-minilm-l6-v2";

    /// <summary>
    /// Measured on the labelled paraphrase set with MiniLM (test/Sanjia.Providers.Local.Tests/Semantic, docs/caching.md):
    /// the lowest threshold whose false-hit rate on English hard non-paraphrases stays within 1 %.
    /// </summary>
    public const double DefaultThreshold = 0.9;

    public static SemanticPolicy? For(SemanticCacheOptions? global, AliasSemanticOptions? alias) =>
        alias is { Enabled: true }
            ? new SemanticPolicy(alias.EmbeddingModel ?? global?.EmbeddingModel ?? DefaultEmbeddingModel, (float)(alias.Threshold ?? global?.Threshold ?? DefaultThreshold))
            : null;

    /// <summary>Each alias's embedding model must be an embedding model of the same configuration.</summary>
    public static void Validate(Models.ModelRegistry registry, Configuration.ConfigErrors errors)
    {
        foreach (var alias in registry.Aliases)
        {
            if (alias.Cache?.Semantic is not { } semantic) continue;
            if (registry.Resolve(semantic.EmbeddingModel) is { Kind: Abstractions.ModelKind.Embedding } embedding)
            {
                semantic.LatinScriptOnly |= embedding.Deployments.Any(d => string.Equals(d.Id, DefaultEmbeddingModel, StringComparison.OrdinalIgnoreCase));
                continue;
            }
            errors.Add($"{Configuration.SanjiaOptions.Section}:Models:{alias.RequestedId}:Cache:Semantic:EmbeddingModel",
                $"'{semantic.EmbeddingModel}' is not an embedding model of this gateway" + (semantic.LatinScriptOnly ? " (the built-in MiniLM is served when Sanjia:Local:Embeddings is true)." : "."));
        }
    }
}
