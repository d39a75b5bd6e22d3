namespace Sanjia.Core.Configuration;

/// <summary>
/// Shared fast state in Redis (docs/decisions/0006-shared-state-in-redis.md): with a configuration, budgets' holds and
/// RPM/TPM are kept there for every instance; without one (the default) they are in each instance's memory.
/// </summary>
public sealed class RedisOptions
{
    /// <summary>A StackExchange.Redis configuration string (<c>redis.internal:6379,password=...</c>); empty = in memory.</summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// While Redis cannot be reached, admit budgeted keys without a shared hold (spend is counted into Redis when it
    /// returns) instead of refusing them with 503 <c>budget_store_unavailable</c> (the default).
    /// </summary>
    public bool FailOpen { get; set; }

    /// <summary>
    /// How long a hold lives unless its instance renews it (three times per period, while the request runs): the holds
    /// of an instance that died expire within this.
    /// </summary>
    public int HoldSeconds { get; set; } = 60;

    /// <summary>Prefix of every key (in a hash tag, so that one script's keys share a cluster slot): gateways that share a Redis but not their budgets use different ones.</summary>
    public string KeyPrefix { get; set; } = "sanjia";

    /// <summary>
    /// With the response cache on (<c>Sanjia:Cache</c>), keep its answers in Redis as well, so that an answer fetched
    /// through one instance is a hit on every other (each keeps its own in-memory copy of what it uses). On by default.
    /// </summary>
    public bool ResponseCache { get; set; } = true;

    /// <summary>The most the response cache's entries may hold in Redis, in bytes (least recently used evicted first). 256 MiB by default.</summary>
    public long ResponseCacheMaxBytes { get; set; } = 256L * 1024 * 1024;
}
