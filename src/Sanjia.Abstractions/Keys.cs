namespace Sanjia.Abstractions;

public enum BudgetPeriod { Daily, Weekly, Monthly, Total }

/// <summary>A spending cap: at most <see cref="Amount"/> in <see cref="Currency"/> per <see cref="Period"/> (UTC windows).</summary>
public sealed record Budget(decimal Amount, string Currency, BudgetPeriod Period)
{
    /// <summary>
    /// Percentages of <see cref="Amount"/> at which a budget alert fires, once per crossing per period
    /// (docs/observability.md); null = the gateway's default (<c>Sanjia:Alerts:BudgetPercents</c>), empty = none.
    /// </summary>
    public IReadOnlyList<int>? AlertAt { get; init; }
}

/// <summary>A virtual key as stored: only the SHA-256 of its secret is kept.</summary>
public sealed record VirtualKey
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    /// <summary>Lower-case hex SHA-256 of the secret.</summary>
    public required string SecretHash { get; init; }
    /// <summary>The first characters of the secret, so people can tell keys apart.</summary>
    public required string Prefix { get; init; }
    public string? TeamId { get; init; }
    /// <summary>Aliases or <c>provider/model</c> ids this key may call; empty = every model.</summary>
    public IReadOnlyList<string> AllowedModels { get; init; } = [];
    public Budget? Budget { get; init; }
    public int? RpmLimit { get; init; }
    public int? TpmLimit { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    /// <summary>From this moment the key is refused with <c>key_expired</c>; null = never (docs/decisions/0004-key-model.md).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>What the key may reach besides the model routes (<see cref="KeyScopes"/>); empty = models only.</summary>
    public IReadOnlyList<string> Scopes
    {
        get => _scopes;
        // A record stored before scopes existed has none: the JSON source generator sets a missing init-only
        // property to null, which must read as "no scopes", never as a null list.
        init => _scopes = value ?? [];
    }

    private readonly IReadOnlyList<string> _scopes = [];

    /// <summary>The guardrail policies (names under <c>Sanjia:Guardrails:Policies</c>) applied to the key's calls; empty = none of its own.</summary>
    public IReadOnlyList<string> Guardrails
    {
        get => _guardrails;
        // Records stored before this field existed read as "none", never as a null list (as for Scopes).
        init => _guardrails = value ?? [];
    }

    private readonly IReadOnlyList<string> _guardrails = [];

    public bool HasScope(string scope)
    {
        foreach (var s in Scopes)
        {
            if (string.Equals(s, scope, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Whether the key may call a model id as the client sends it (alias or <c>provider/model</c>).</summary>
    public bool MayUse(string modelId)
    {
        if (AllowedModels.Count == 0) return true;
        foreach (var m in AllowedModels)
        {
            if (string.Equals(m, modelId, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}

/// <summary>The scopes a virtual key can hold (docs/decisions/0004-key-model.md); they only ever add rights.</summary>
public static class KeyScopes
{
    /// <summary>The whole admin API.</summary>
    public const string Admin = "admin";
    /// <summary>The admin API's GET routes only.</summary>
    public const string AdminRead = "admin:read";
    /// <summary>Marks the key's traffic as evaluation (compare runs), kept apart from production health.</summary>
    public const string Evaluation = "evaluation";

    public static readonly IReadOnlyList<string> All = [Admin, AdminRead, Evaluation];
}

public sealed record Team
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public Budget? Budget { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The guardrail policies applied to the calls of every key of the team; empty = none.</summary>
    public IReadOnlyList<string> Guardrails
    {
        get => _guardrails;
        init => _guardrails = value ?? [];
    }

    private readonly IReadOnlyList<string> _guardrails = [];
}

/// <summary>Durable storage for virtual keys and teams (SQLite now; PostgreSQL can implement the same contract).</summary>
public interface IKeyStore
{
    Task UpsertKeyAsync(VirtualKey key, CancellationToken cancellationToken);
    Task<VirtualKey?> GetKeyAsync(string id, CancellationToken cancellationToken);
    Task<IReadOnlyList<VirtualKey>> ListKeysAsync(CancellationToken cancellationToken);
    Task UpsertTeamAsync(Team team, CancellationToken cancellationToken);
    Task<Team?> GetTeamAsync(string id, CancellationToken cancellationToken);
    Task<IReadOnlyList<Team>> ListTeamsAsync(CancellationToken cancellationToken);
    Task<bool> DeleteTeamAsync(string id, CancellationToken cancellationToken);
}

/// <summary>Spend already recorded in the ledger, for budgets that must survive restarts.</summary>
public interface ISpendSource
{
    /// <summary>Sum of priced cost in <paramref name="currency"/> for a key or team (<paramref name="scope"/> = <c>key</c> or <c>team</c>) since a time.</summary>
    Task<decimal> SpentSinceAsync(string scope, string id, string currency, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Every ledger entry in [from, to).</summary>
    Task<IReadOnlyList<LedgerEntry>> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);
}
