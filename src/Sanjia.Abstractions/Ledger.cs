namespace Sanjia.Abstractions;

/// <summary>One metered request (or one attempt of it): what a bill and a spend report are built from.</summary>
public sealed record LedgerEntry
{
    public required string RequestId { get; init; }
    public int Attempt { get; init; } = 1;
    public required DateTimeOffset Timestamp { get; init; }
    public string? KeyId { get; init; }
    public string? TeamId { get; init; }
    public required string Endpoint { get; init; }
    public required string Model { get; init; }
    public string? Deployment { get; init; }
    public string? Provider { get; init; }
    public TokenUsage Usage { get; init; }
    public required int Status { get; init; }
    public string? ErrorCode { get; init; }
    public double LatencyMs { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    public bool Stream { get; init; }
    /// <summary>Cost at the deployment's price; null = unpriced (no known price), never shown as zero.</summary>
    public decimal? Cost { get; init; }
    public string? Currency { get; init; }
    public bool Priced => Cost is not null;

    /// <summary>
    /// The request id of the ledger row whose answer the response cache served (docs/caching.md); null when the
    /// answer came from upstream. A hit's <see cref="Cost"/> is zero and <see cref="CostSaved"/> what the original cost.
    /// </summary>
    public string? CacheOf { get; init; }

    /// <summary>What a cache hit saved: the original answer's cost, in <see cref="Currency"/>; null for other rows.</summary>
    public decimal? CostSaved { get; init; }

    /// <summary>
    /// What the guardrails did on this request (docs/guardrails.md): rule ids and actions, never the matched text, in
    /// the column form of <see cref="GuardrailDecision.Format"/> (text, so the row compares and stores as a value);
    /// null when no rule matched or no policy applied. <see cref="GuardrailDecision.Parse"/> reads it back.
    /// Left out of the journal's line when null, so a request without guardrails journals what it did before.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Guardrails { get; init; }

    /// <summary>Images an image call returned (what a per-image price applies to; 0 when it failed); null for other kinds of call (and then left out of the journal's line).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? Images { get; init; }

    /// <summary>
    /// Evaluation traffic: a call by a key with the <c>evaluation</c> scope (docs/admin-api.md), or by the gateway's own
    /// comparison runs. Billed and counted like any other, but kept out of what judges the live deployments: a
    /// rollout's guard compares production traffic only (the split never sends evaluation calls to the candidate).
    /// Left out of the journal's line when false.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Evaluation { get; init; }
}

/// <summary>
/// One guardrail decision on a request: whether it was on the input (the prompt) or the output (the answer), the rule
/// id (<c>pii.email</c>), the action taken (<c>block</c>, <c>redact</c>, <c>log</c>; <c>mask</c> on output) and the
/// policy whose rule it was. Never the matched text: nothing here comes from the request's content.
/// </summary>
public readonly record struct GuardrailDecision(string Check, string Rule, string Action, string Policy)
{
    public const string Input = "input";
    public const string Output = "output";

    /// <summary>
    /// The ledger column's form: <c>check:rule:action:policy</c> per decision, joined by <c>,</c>, e.g.
    /// <c>input:pii.email:redact:pii-redact,output:pii.email:mask:pii-redact</c>. Check, rule and action never hold
    /// <c>:</c> or <c>,</c>, nor do policy names hold <c>:</c> (it separates configuration keys); a <c>,</c> or <c>%</c>
    /// in a policy name is written <c>%2C</c> or <c>%25</c>. A rule is found as <c>input:rule:</c> or <c>output:rule:</c>.
    /// </summary>
    public static string? Format(ReadOnlySpan<GuardrailDecision> decisions)
    {
        if (decisions.IsEmpty) return null;
        var sb = new System.Text.StringBuilder(decisions.Length * 40);
        foreach (var d in decisions)
        {
            if (sb.Length > 0) sb.Append(',');
            sb.Append(d.Check).Append(':').Append(d.Rule).Append(':').Append(d.Action).Append(':');
            foreach (var c in d.Policy)
            {
                if (c == ',') sb.Append("%2C");
                else if (c == '%') sb.Append("%25");
                else sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>The decisions of a ledger row's <see cref="LedgerEntry.Guardrails"/>, in order; empty for null.</summary>
    public static IReadOnlyList<GuardrailDecision> Parse(string? column)
    {
        if (string.IsNullOrEmpty(column)) return [];
        var list = new List<GuardrailDecision>();
        foreach (var entry in column.Split(','))
        {
            var parts = entry.Split(':', 4);
            if (parts.Length != 4) continue; // not written by Format: skipped rather than guessed at
            list.Add(new GuardrailDecision(parts[0], parts[1], parts[2], parts[3].Replace("%2C", ",", StringComparison.Ordinal).Replace("%25", "%", StringComparison.Ordinal)));
        }
        return list;
    }
}

/// <summary>Durable storage for ledger entries; writes arrive batched.</summary>
public interface ILedgerStore
{
    Task AppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken);
    Task<IReadOnlyList<LedgerEntry>> ReadAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);
}

/// <summary>The request path's side of metering: never blocks, never loses an accepted entry before shutdown.</summary>
public interface ILedger
{
    void Record(LedgerEntry entry);

    /// <summary>
    /// Notes a stream in flight (when it begins, then its progress): the entry, with <see cref="LedgerEntry.Status"/> 0,
    /// stands in for the stream's row should the process die before that row is recorded; recording the row with the
    /// same request id, attempt and endpoint replaces it. Default: nothing (the row is recorded at the end only).
    /// </summary>
    void RecordInFlight(LedgerEntry entry)
    {
    }

    /// <summary>Records and completes once the entry is durable (survives the process being killed).</summary>
    ValueTask RecordDurableAsync(LedgerEntry entry)
    {
        Record(entry);
        return ValueTask.CompletedTask;
    }
}
