namespace Sanjia.Core.Caching;

/// <summary>Whose requests share entries of the response cache.</summary>
public enum CacheScope
{
    /// <summary>Each virtual key its own entries (the master key has one set of its own).</summary>
    Key,
    /// <summary>The keys of one team share entries; a key outside any team keeps its own.</summary>
    Team,
    /// <summary>Every caller shares entries: only for aliases whose answers nobody must keep from anybody.</summary>
    Shared,
}

/// <summary>
/// <c>Sanjia:Cache</c>: the exact response cache (docs/caching.md). Off by default; <see cref="Enabled"/> turns it on
/// for every model, and an alias's own <c>Sanjia:Models:&lt;alias&gt;:Cache</c> (<see cref="AliasCacheOptions"/>)
/// turns it on or off for that alias and overrides the rest.
/// </summary>
public sealed class CacheOptions
{
    /// <summary>Cache every model's answers (aliases can still say otherwise).</summary>
    public bool Enabled { get; set; }

    /// <summary>The most the entries may hold, in bytes of stored answers; the least recently used go first. 64 MiB by default.</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How long an entry answers, in seconds. One hour by default.</summary>
    public double TtlSeconds { get; set; } = 3600;

    public CacheScope Scope { get; set; } = CacheScope.Key;

    /// <summary>Also cache requests whose temperature is not 0 (or not given): off by default, as such answers are meant to vary.</summary>
    public bool AnyTemperature { get; set; }

    /// <summary>The semantic cache's defaults and index size; it is turned on per alias (<see cref="AliasCacheOptions.Semantic"/>).</summary>
    public Semantic.SemanticCacheOptions Semantic { get; set; } = new();
}

/// <summary><c>Sanjia:Models:&lt;alias&gt;:Cache</c>: the alias's own cache settings; unset ones come from <c>Sanjia:Cache</c>.</summary>
public sealed class AliasCacheOptions
{
    public bool? Enabled { get; set; }
    public double? TtlSeconds { get; set; }
    public CacheScope? Scope { get; set; }
    public bool? AnyTemperature { get; set; }

    /// <summary>Also answer paraphrases of stored questions (docs/caching.md, "Semantic cache").</summary>
    public Semantic.AliasSemanticOptions? Semantic { get; set; }
}
