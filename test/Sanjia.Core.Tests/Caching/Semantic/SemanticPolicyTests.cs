using Sanjia.Abstractions;
using Sanjia.Core.Caching;
using Sanjia.Core.Caching.Semantic;
using Sanjia.Core.Configuration;
using Sanjia.Core.Models;

namespace Sanjia.Core.Tests.Caching.Semantic;

/// <summary>An alias's semantic policy as the registry resolves it: its embedding model checked, MiniLM's Latin-only rule found behind aliases.</summary>
public sealed class SemanticPolicyTests
{
    private sealed class Provider(string name, params (string Model, ModelKind Kind)[] models) : IProvider
    {
        public string Name => name;
        public string Describe => name;
        public IChatBackend? Chat => null;
        public IEmbeddingBackend? Embeddings => null;
        public IReadOnlyList<(string Model, ModelKind Kind)> Models => models;
        public bool AcceptsUnlistedModels => false;
    }

    private static AliasOptions Alias(string provider, string model, string? embeddingModel = null) => new()
    {
        Deployments = [new DeploymentOptions { Provider = provider, Model = model }],
        Cache = embeddingModel is null ? null : new AliasCacheOptions { Semantic = new AliasSemanticOptions { Enabled = true, EmbeddingModel = embeddingModel } },
    };

    private static (ModelRegistry Registry, ConfigErrors Errors) Build(Dictionary<string, AliasOptions> aliases)
    {
        var errors = new ConfigErrors();
        var providers = new IProvider[]
        {
            new Provider("local", ("all-minilm-l6-v2", ModelKind.Embedding)),
            new Provider("v", ("chat-model", ModelKind.Chat), ("bge-m3", ModelKind.Embedding)),
        };
        return (new ModelRegistry(providers, aliases, errors, DateTimeOffset.UnixEpoch, cache: new CacheOptions()), errors);
    }

    [Fact]
    public void The_latin_only_rule_follows_minilm_behind_an_alias_and_not_a_multilingual_model()
    {
        var (registry, errors) = Build(new()
        {
            ["emb"] = Alias("local", "all-minilm-l6-v2"),
            ["direct"] = Alias("v", "chat-model", "local/all-minilm-l6-v2"),
            ["aliased"] = Alias("v", "chat-model", "emb"),
            ["multilingual"] = Alias("v", "chat-model", "v/bge-m3"),
        });

        Assert.Empty(errors.Errors);
        Assert.True(registry.Resolve("direct")!.Cache!.Semantic!.LatinScriptOnly);
        Assert.True(registry.Resolve("aliased")!.Cache!.Semantic!.LatinScriptOnly);
        Assert.False(registry.Resolve("multilingual")!.Cache!.Semantic!.LatinScriptOnly);
        Assert.Null(registry.Resolve("emb")!.Cache); // an embedding alias has no cache
    }

    [Fact]
    public void An_embedding_model_that_is_missing_or_a_chat_model_is_an_error_naming_the_setting()
    {
        var (_, errors) = Build(new()
        {
            ["a"] = Alias("v", "chat-model", "v/nothing"),
            ["b"] = Alias("v", "chat-model", "v/chat-model"),
        });

        Assert.Equal(2, errors.Errors.Count(e => e.Contains(":Cache:Semantic:EmbeddingModel", StringComparison.Ordinal)));
    }
}
