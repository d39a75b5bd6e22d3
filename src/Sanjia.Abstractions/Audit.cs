namespace Sanjia.Abstractions;

/// <summary>
/// One admin action (a write to the admin API): who, what, when and from where. Never values: <see cref="Fields"/>
/// names the fields the request set, so a key's secret, a budget's amount or a prompt's text are not copied here.
/// </summary>
public sealed record AuditEntry
{
    /// <summary>The store's id (the cursor of <see cref="AuditFilter.Before"/>); 0 on an entry not yet stored.</summary>
    public long Id { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary><c>master</c> for the master key, else the virtual key's id (never its secret).</summary>
    public required string Actor { get; init; }
    /// <summary>How the actor signed in: <c>key</c> (a header) or <c>console</c> (the web console's session).</summary>
    public string Via { get; init; } = "key";
    public string? RemoteAddress { get; init; }
    public required string Method { get; init; }
    /// <summary>The request path, e.g. <c>/admin/keys/key_ab12</c>.</summary>
    public required string Path { get; init; }
    /// <summary>The route's template, e.g. <c>/admin/keys/{id}</c>: what kind of action it was.</summary>
    public required string Route { get; init; }
    /// <summary>The object acted on (key, team, alias or prompt id), when the route or the answer names one.</summary>
    public string? TargetId { get; init; }
    /// <summary>The top-level fields the request body set, by name.</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];
    /// <summary>The HTTP status of the answer: 2xx done, 4xx refused.</summary>
    public required int Status { get; init; }
}

/// <summary>Which audit entries to list, newest first; every filter optional.</summary>
public sealed record AuditFilter
{
    public string? Actor { get; init; }
    public string? TargetId { get; init; }
    /// <summary>Entries whose path starts with this (<c>/admin/keys</c>).</summary>
    public string? PathPrefix { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public long? Before { get; init; }
    public int Limit { get; init; } = 50;
}

/// <summary>The audit log's storage: SQLite and PostgreSQL, the same conformance suite.</summary>
public interface IAuditStore
{
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>Up to <see cref="AuditFilter.Limit"/> matching entries, newest first.</summary>
    Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditFilter filter, CancellationToken cancellationToken);
}
