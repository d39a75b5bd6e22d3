using System.Text.Json;
using System.Text.Json.Serialization;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Models;

/// <summary>
/// How a rollout moves (docs/routing.md, "Gradual rollouts"): the candidate's share of the alias's requests at each
/// step in percent (increasing, the last 100), the candidate requests a step needs before it is judged, how long a
/// step lasts at least, and the guard: the candidate's vendor-failure rate may exceed the incumbent's by at most
/// <see cref="MaxErrorRateIncrease"/> (absolute), and its median latency be at most <see cref="MaxLatencyRatio"/>
/// times the incumbent's (null: latency is not guarded).
/// </summary>
public sealed record RolloutPlan(int[] Steps, int MinRequestsPerStep, double DwellSeconds, double MaxErrorRateIncrease, double? MaxLatencyRatio);

/// <summary>
/// What the ledger says about one side of a rollout over a period: requests the vendor answered or failed (client
/// errors, cache hits and streams still in flight are left out, as in the SLA view), the vendor failures among them
/// (5xx: the vendor's error, a timeout, no answer) and the median latency of the first-attempt successes.
/// </summary>
public sealed record RolloutFigures(int Requests, int VendorFailures, double? LatencyP50Ms)
{
    [JsonIgnore]
    public double? FailureRate => Requests > 0 ? (double)VendorFailures / Requests : null;
}

/// <summary>
/// One step of a rollout: its share, when it began and ended, the figures it was judged on (the candidate's during
/// the step, the incumbent's since the rollout began) and the decision that ended it (<c>advance</c>,
/// <c>complete</c>, <c>rollback</c> or <c>abort</c>) with its reason.
/// </summary>
public sealed record RolloutStep(int Percent, DateTimeOffset StartedAt)
{
    public DateTimeOffset? EndedAt { get; init; }
    public RolloutFigures? Candidate { get; init; }
    public RolloutFigures? Incumbent { get; init; }
    public string? Decision { get; init; }
    public string? Reason { get; init; }
}

/// <summary>
/// A gradual rollout of <paramref name="Provider"/>/<paramref name="Model"/> for an alias. <see cref="Version"/> grows
/// by one with every change (start, each decision, an abort): a change is taken only over the version it was
/// decided on, so of two instances deciding the same step exactly one wins (<see cref="AliasRollouts.TryCommitAsync"/>).
/// </summary>
public sealed record AliasRollout(string Alias, string Provider, string Model, RolloutPlan Plan, DateTimeOffset StartedAt)
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string RolledBack = "rolled_back";
    public const string Aborted = "aborted";

    public string Status { get; init; } = Running;
    public long Version { get; init; } = 1;
    public IReadOnlyList<RolloutStep> Steps { get; init; } = [];
    public DateTimeOffset? EndedAt { get; init; }

    [JsonIgnore]
    public bool IsRunning => Status == Running && Steps.Count > 0;

    /// <summary>The candidate's share now: the current step's while running, 0 once ended (a rollback sends it nothing).</summary>
    [JsonIgnore]
    public int Percent => IsRunning ? Steps[^1].Percent : 0;

    [JsonIgnore]
    public string Deployment => Provider + "/" + Model;

    /// <summary>
    /// The promotion a completed rollout leaves (null otherwise), dated when it completed: every instance derives the
    /// same one, so the promotion published by the deciding instance changes nothing where the rollout arrived first.
    /// </summary>
    [JsonIgnore]
    public AliasOverride? Promotion => Status == Completed && EndedAt is { } at ? new AliasOverride(Alias, Provider, Model, at) : null;

    /// <summary>This rollout with its current step ended by <paramref name="decision"/>, as the next version.</summary>
    public AliasRollout Decide(string decision, string reason, DateTimeOffset at, RolloutFigures? candidate, RolloutFigures? incumbent)
    {
        var steps = Steps.ToList();
        steps[^1] = steps[^1] with { EndedAt = at, Decision = decision, Reason = reason, Candidate = candidate ?? steps[^1].Candidate, Incumbent = incumbent ?? steps[^1].Incumbent };
        var status = decision switch
        {
            "advance" => Running,
            "complete" => Completed,
            "rollback" => RolledBack,
            _ => Aborted,
        };
        if (decision == "advance") steps.Add(new RolloutStep(Plan.Steps[steps.Count], at));
        return this with { Steps = steps, Status = status, Version = Version + 1, EndedAt = status == Running ? null : at };
    }
}

/// <summary>
/// The rollouts of the aliases (the last one of each, running or ended, as its record), kept in
/// <c>&lt;data&gt;/alias-rollouts.json</c> and applied over the configuration when a registry is built, as promotions
/// are (<see cref="AliasOverrides"/>). Changes are versioned: <see cref="TryCommitAsync"/> takes a rollout only over the
/// version before it. With Redis configured, <see cref="Shared"/> makes that check in Redis first (one instance's
/// change wins, and reaches the others on the change channel); the others apply it with <see cref="SetFromPeer"/>.
/// </summary>
public sealed class AliasRollouts
{
    public const string FileName = "alias-rollouts.json";

    private static readonly JsonSerializerOptions Line = new(JsonSerializerDefaults.Web);
    private readonly string _path;
    private readonly Lock _lock = new();
    private Dictionary<string, AliasRollout> _items;

    public AliasRollouts(string dataDir)
    {
        _path = Path.Combine(dataDir, FileName);
        _items = AliasFile.Load<AliasRollout>(_path, r => r.Alias, "alias rollouts");
    }

    /// <summary>
    /// The shared check and publication (Redis): takes the rollout if the shared version is the one before it, and
    /// tells the other instances; false when another instance's change came first, or the shared state cannot be
    /// reached (then nothing changes anywhere). Null: this instance alone decides.
    /// </summary>
    public Func<AliasRollout, Task<bool>>? Shared { get; set; }

    public IReadOnlyList<AliasRollout> All
    {
        get { lock (_lock) return [.. _items.Values.OrderBy(o => o.Alias, StringComparer.Ordinal)]; }
    }

    /// <summary>The rollouts running now (what a registry build applies).</summary>
    public IReadOnlyList<AliasRollout> RunningNow
    {
        get { lock (_lock) return [.. _items.Values.Where(r => r.IsRunning)]; }
    }

    public AliasRollout? Get(string alias)
    {
        lock (_lock) return _items.GetValueOrDefault(alias);
    }

    /// <summary>
    /// Takes <paramref name="next"/> if the alias's rollout is still at the version before it (none counts as 0):
    /// first in the shared state when there is one, then here. False when another change came first.
    /// </summary>
    public async Task<bool> TryCommitAsync(AliasRollout next)
    {
        if (VersionOf(next.Alias) != next.Version - 1) return false;
        if (Shared is { } shared && !await shared(next).ConfigureAwait(false)) return false;
        lock (_lock)
        {
            // Without a shared state two local callers can race here; the check under the lock keeps one.
            if (Shared is null && VersionOf(next.Alias) != next.Version - 1) return false;
            if (VersionOf(next.Alias) < next.Version) Write(next);
            return true;
        }
    }

    /// <summary>Applies a rollout changed through another instance if it is newer than the one here; true when it changed anything (rebuild the registry).</summary>
    public bool SetFromPeer(AliasRollout value)
    {
        lock (_lock)
        {
            if (VersionOf(value.Alias) >= value.Version) return false;
            Write(value);
            return true;
        }
    }

    private long VersionOf(string alias)
    {
        lock (_lock) return _items.GetValueOrDefault(alias)?.Version ?? 0;
    }

    /// <summary>A rollout as one line of JSON (what instances exchange), and back; null for text that is not one.</summary>
    public static string ToJson(AliasRollout value) => JsonSerializer.Serialize(value, Line);

    public static AliasRollout? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<AliasRollout>(json, Line) is { Alias.Length: > 0, Provider.Length: > 0, Model.Length: > 0, Plan.Steps.Length: > 0 } r ? r : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Write(AliasRollout value)
    {
        lock (_lock)
        {
            var next = new Dictionary<string, AliasRollout>(_items, StringComparer.OrdinalIgnoreCase) { [value.Alias] = value };
            AliasFile.Save(_path, next.Values);
            _items = next;
        }
    }
}
