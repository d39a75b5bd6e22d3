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

    /// <summary>How long traffic data is kept (docs/configuration.md, "Retention"); everything, forever, by default.</summary>
    public RetentionOptions Retention { get; set; } = new();
}

/// <summary>
/// Age-based retention, applied by a background sweep (<c>RetentionSweep</c>) at start and every
/// <see cref="SweepMinutes"/>; 0 keeps that data forever. With neither set, no sweep runs.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>
    /// The shortest ledger retention: a monthly budget's period (31 days) and the spend report of the current
    /// month read the ledger back, so it must reach past the start of the month with a day to spare.
    /// </summary>
    public const int MinLedgerDays = 32;

    /// <summary>Ledger rows older than this many days are deleted (0: kept); at least <see cref="MinLedgerDays"/>.</summary>
    public int LedgerDays { get; set; }

    /// <summary>Logged request and response bodies (<c>Sanjia:Logging:Bodies</c>) older than this many days are deleted (0: kept).</summary>
    public int BodyLogDays { get; set; }

    /// <summary>Minutes between sweeps (default 60; at least 1).</summary>
    public double SweepMinutes { get; set; } = 60;

    public bool Enabled => LedgerDays > 0 || BodyLogDays > 0;
}
