namespace Sanjia.Core.Configuration;

/// <summary>Where the gateway's durable state is kept (docs/deployment.md, "PostgreSQL").</summary>
public sealed class StorageOptions
{
    /// <summary>
    /// A PostgreSQL connection string (Npgsql's keywords: <c>Host=db;Database=sanjia;Username=sanjia;Password=...</c>).
    /// Set, the ledger, keys, teams, prompts, shadow pairs and the body log live there, shared by every instance;
    /// empty (the default), they are SQLite files in <c>DataDir</c>. The ledger journal stays in <c>DataDir</c> either way.
    /// </summary>
    public string? Postgres { get; set; }
}
