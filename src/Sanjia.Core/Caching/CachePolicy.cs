using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Pipeline;

namespace Sanjia.Core.Caching;

/// <summary>
/// The response cache's rules for one model, resolved from configuration when the snapshot is built
/// (<see cref="Models.ResolvedModel.Cache"/>); null there means the cache does not apply to the model, and the stage
/// passes its requests through untouched.
/// </summary>
public sealed record CachePolicy(CacheScope Scope, TimeSpan Ttl, bool AnyTemperature)
{
    /// <summary>The alias's semantic cache (docs/caching.md), null when it has none: only exact repeats are answered.</summary>
    public Semantic.SemanticPolicy? Semantic { get; init; }

    /// <summary>The policy for an alias (its own settings over <c>Sanjia:Cache</c>), or null when the cache is off for it.</summary>
    public static CachePolicy? For(CacheOptions? global, AliasCacheOptions? alias)
    {
        var semantic = Caching.Semantic.SemanticPolicy.For(global?.Semantic, alias?.Semantic);
        // An alias's semantic cache stores its answers in the exact cache: it turns that on, unless the alias says no.
        if (!(alias?.Enabled ?? (semantic is not null || (global?.Enabled ?? false))))
        {
            return null;
        }
        return new CachePolicy(
            alias?.Scope ?? global?.Scope ?? CacheScope.Key,
            TimeSpan.FromSeconds(alias?.TtlSeconds ?? global?.TtlSeconds ?? 3600),
            alias?.AnyTemperature ?? global?.AnyTemperature ?? false)
        {
            Semantic = semantic,
        };
    }

    /// <summary>Whether the request's sampling allows a stored answer: temperature 0, or any when so configured.</summary>
    public bool Admits(ChatRequest request) => AnyTemperature || request.Temperature == 0;

    /// <summary>The entries the caller shares (part of the key): its key's, its team's, or everybody's.</summary>
    public string ScopeOf(Caller caller) => Scope switch
    {
        CacheScope.Shared => "*",
        CacheScope.Team when caller.TeamId is { } team => "team:" + team,
        _ => caller.KeyId is { } key ? "key:" + key : "master",
    };

    /// <summary>Checks <c>Sanjia:Cache</c> and every alias's <c>Cache</c> section.</summary>
    public static void Validate(SanjiaOptions options, ConfigErrors errors)
    {
        var c = options.Cache;
        var path = $"{SanjiaOptions.Section}:Cache";
        if (c.MaxBytes < 1)
        {
            errors.Add($"{path}:MaxBytes", $"must be a positive number of bytes, not {c.MaxBytes}.");
        }
        if (!(c.TtlSeconds > 0) || double.IsInfinity(c.TtlSeconds))
        {
            errors.Add($"{path}:TtlSeconds", $"must be a positive number of seconds, not {c.TtlSeconds}.");
        }
        if (c.Semantic.MaxEntries < 1)
        {
            errors.Add($"{path}:Semantic:MaxEntries", $"must be a positive number of entries, not {c.Semantic.MaxEntries}.");
        }
        ValidateThreshold(c.Semantic.Threshold, $"{path}:Semantic:Threshold", errors);
        foreach (var (alias, a) in options.Models)
        {
            if (a.Cache?.TtlSeconds is { } ttl && (!(ttl > 0) || double.IsInfinity(ttl)))
            {
                errors.Add($"{SanjiaOptions.Section}:Models:{alias}:Cache:TtlSeconds", $"must be a positive number of seconds, not {ttl}.");
            }
            if (a.Cache?.Semantic is { Enabled: true } s)
            {
                var at = $"{SanjiaOptions.Section}:Models:{alias}:Cache";
                if (a.Cache.Enabled == false)
                {
                    errors.Add($"{at}:Semantic:Enabled", "the semantic cache keeps its answers in the exact cache, which Cache:Enabled turns off for this alias.");
                }
                if (s.Threshold is { } t) ValidateThreshold(t, $"{at}:Semantic:Threshold", errors);
                if (s.EmbeddingModel is { Length: 0 }) errors.Add($"{at}:Semantic:EmbeddingModel", "must name an embedding model.");
            }
        }
    }

    private static void ValidateThreshold(double threshold, string path, ConfigErrors errors)
    {
        if (!(threshold > 0 && threshold <= 1))
        {
            errors.Add(path, $"must be a cosine similarity above 0 and at most 1, not {threshold}.");
        }
    }
}

/// <summary>What the response cache did for a request: the <c>x-sanjia-cache</c> header (none when it does not apply).</summary>
public enum CacheStatus : byte
{
    /// <summary>The cache does not apply to the model: no header.</summary>
    None,
    Hit,
    Miss,
    /// <summary>It applies but this request neither reads nor writes it (its temperature, <c>Cache-Control: no-store</c>).</summary>
    Bypass,
}

/// <summary>A hit, for its ledger row: the request whose answer was served and what that answer cost.</summary>
public sealed record CacheHit(string RequestId, decimal? Saved, string? Currency)
{
    /// <summary>For a semantic hit, how similar the stored question was (cosine); null for an exact hit.</summary>
    public float? Similarity { get; init; }

    /// <summary>What the hit costs: nothing, in the original's currency; unpriced like the original when it had no price (never a zero without a currency).</summary>
    public Cost Cost => Currency is null ? Cost.Unpriced : new(0m, Currency);
}
