namespace Sanjia.Core.Configuration;

/// <summary>
/// <c>Sanjia:Shadow:&lt;alias&gt;</c>: mirror a fraction of the alias's successful traffic to a candidate model in the
/// background, grade the pair and keep it (docs/compare.md, "Shadow testing"). Read at start-up.
/// </summary>
public sealed class ShadowOptions
{
    /// <summary>The model the copies go to: <c>provider/model</c> or another alias.</summary>
    public string? Candidate { get; set; }

    /// <summary>Share of the alias's successful requests that are mirrored, in [0, 1].</summary>
    public double Fraction { get; set; } = 0.1;

    /// <summary>Copies waiting for the worker; when full, new copies are dropped and counted.</summary>
    public int QueueSize { get; set; } = 100;

    /// <summary>At most this many copies are sent per clock hour (the shadow's own budget). Empty = no cap.</summary>
    public int? MaxRequestsPerHour { get; set; }

    /// <summary>Spend cap for the shadow's own calls (candidate and grading embeddings). Empty = no spend cap.</summary>
    public ShadowBudgetOptions? Budget { get; set; }

    /// <summary>With a <see cref="Budget"/>: allow calls to a candidate with no known price (they count as zero).</summary>
    public bool AllowUnpriced { get; set; }

    /// <summary>Copies sent to the candidate at once.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>Embedding model for the similarity of the two answers.</summary>
    public string EmbeddingModel { get; set; } = "local/all-minilm-l6-v2";

    /// <summary>Similarity at or above which the candidate's answer counts as a match.</summary>
    public double Threshold { get; set; } = 0.8;

    /// <summary>Checks every alias's shadow settings; paths name the exact key.</summary>
    public static void Validate(IReadOnlyDictionary<string, ShadowOptions> shadows, ConfigErrors errors)
    {
        foreach (var (alias, s) in shadows)
        {
            var path = $"{SanjiaOptions.Section}:Shadow:{alias}";
            if (string.IsNullOrWhiteSpace(s.Candidate)) errors.Add($"{path}:Candidate", "required: the model to mirror traffic to (provider/model or an alias).");
            if (!(s.Fraction is >= 0 and <= 1)) errors.Add($"{path}:Fraction", "must be between 0 and 1.");
            if (s.QueueSize is < 1 or > 100_000) errors.Add($"{path}:QueueSize", "must be between 1 and 100000.");
            if (s.MaxRequestsPerHour is < 0) errors.Add($"{path}:MaxRequestsPerHour", "must be 0 or more.");
            if (s.Concurrency is < 1 or > 64) errors.Add($"{path}:Concurrency", "must be between 1 and 64.");
            if (!(s.Threshold is >= 0 and <= 1)) errors.Add($"{path}:Threshold", "must be between 0 and 1.");
            if (s.Budget is { } b)
            {
                if (b.Amount < 0) errors.Add($"{path}:Budget:Amount", "must be 0 or more.");
                if (string.IsNullOrWhiteSpace(b.Currency) || b.Currency.Length != 3) errors.Add($"{path}:Budget:Currency", "must be a 3-letter currency code, e.g. USD.");
                if (ShadowBudgetOptions.ParsePeriod(b.Period) is null) errors.Add($"{path}:Budget:Period", "must be one of hourly, daily, monthly, total.");
            }
        }
    }
}

/// <summary><c>Sanjia:Shadow:&lt;alias&gt;:Budget</c>: what the shadow may spend per period, in one currency.</summary>
public sealed class ShadowBudgetOptions
{
    public decimal Amount { get; set; }

    public string Currency { get; set; } = "USD";

    /// <summary><c>hourly</c> (clock hour, UTC), <c>daily</c>, <c>monthly</c> (UTC) or <c>total</c> (since start-up).</summary>
    public string Period { get; set; } = "total";

    public static ShadowBudgetPeriod? ParsePeriod(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "hourly" => ShadowBudgetPeriod.Hourly,
        "daily" => ShadowBudgetPeriod.Daily,
        "monthly" => ShadowBudgetPeriod.Monthly,
        "total" => ShadowBudgetPeriod.Total,
        _ => null,
    };
}

public enum ShadowBudgetPeriod { Hourly, Daily, Monthly, Total }

/// <summary><c>Sanjia:Logging</c>: what the gateway keeps beyond the ledger.</summary>
public sealed class LoggingOptions
{
    /// <summary>Keep request and response bodies (for replay). Off by default: bodies hold your users' data.</summary>
    public bool Bodies { get; set; }

    /// <summary>Bodies waiting to be written; when full, new ones are dropped and counted.</summary>
    public int BodyQueueSize { get; set; } = 10_000;
}
