using System.Text.Json;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Models;

/// <summary>A promotion: <paramref name="Provider"/>/<paramref name="Model"/> is the alias's first choice, whatever the configuration lists first.</summary>
public sealed record AliasOverride(string Alias, string Provider, string Model, DateTimeOffset PromotedAt);

/// <summary>
/// Run-time changes to aliases (promotions), kept in <c>&lt;data&gt;/alias-overrides.json</c> and applied over the
/// configuration every time a registry is built: at start-up, on a config reload and after a promotion. The
/// configuration files are never rewritten, so removing an override restores what the files say. A change made here
/// (by the admin API) is raised on <see cref="Changed"/>; with Redis configured every other instance applies it with
/// <see cref="SetFromPeer"/> and rebuilds its registry.
/// </summary>
public sealed class AliasOverrides
{
    public const string FileName = "alias-overrides.json";

    private readonly string _path;
    private readonly Lock _lock = new();
    private Dictionary<string, AliasOverride> _items;

    public AliasOverrides(string dataDir)
    {
        _path = Path.Combine(dataDir, FileName);
        _items = AliasFile.Load<AliasOverride>(_path, o => o.Alias, "alias overrides");
    }

    public IReadOnlyList<AliasOverride> All
    {
        get { lock (_lock) return [.. _items.Values.OrderBy(o => o.Alias, StringComparer.Ordinal)]; }
    }

    public AliasOverride? Get(string alias)
    {
        lock (_lock) return _items.GetValueOrDefault(alias);
    }

    /// <summary>An override was set or removed through this instance (the alias, and the override or null).</summary>
    public event Action<string, AliasOverride?>? Changed;

    /// <summary>Sets (or with null removes) the override of an alias and writes the file; returns the previous one.</summary>
    public AliasOverride? Set(string alias, AliasOverride? value)
    {
        var previous = Write(alias, value);
        Changed?.Invoke(alias, value);
        return previous;
    }

    /// <summary>
    /// Applies an override set or removed through another instance (not raised again); returns whether it changed
    /// anything here, i.e. whether the registry must be rebuilt.
    /// </summary>
    public bool SetFromPeer(string alias, AliasOverride? value)
    {
        lock (_lock)
        {
            if (Equals(_items.GetValueOrDefault(alias), value)) return false;
            Write(alias, value);
            return true;
        }
    }

    /// <summary>An override as one line of JSON (what instances exchange), and back; null for text that is not one.</summary>
    public static string ToJson(AliasOverride value) => JsonSerializer.Serialize(value, Line);

    public static AliasOverride? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<AliasOverride>(json, Line) is { Alias.Length: > 0, Provider.Length: > 0, Model.Length: > 0 } o ? o : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly JsonSerializerOptions Line = new(JsonSerializerDefaults.Web);

    private AliasOverride? Write(string alias, AliasOverride? value)
    {
        lock (_lock)
        {
            var previous = _items.GetValueOrDefault(alias);
            var next = new Dictionary<string, AliasOverride>(_items, StringComparer.OrdinalIgnoreCase);
            if (value is null) next.Remove(alias); else next[alias] = value;
            // Written then renamed: a crash mid-write does not lose the overrides already in force.
            AliasFile.Save(_path, next.Values);
            _items = next;
            return previous;
        }
    }

    /// <summary>
    /// The aliases with every override applied: the promoted deployment goes first (moved if the alias lists it,
    /// added otherwise, keeping the others as fallbacks in their order) and the alias routes by priority so that
    /// first means first. Overrides of aliases the configuration no longer has are ignored.
    /// </summary>
    public IReadOnlyDictionary<string, AliasOptions> Apply(IReadOnlyDictionary<string, AliasOptions> configured)
    {
        var result = new Dictionary<string, AliasOptions>(configured, StringComparer.OrdinalIgnoreCase);
        foreach (var o in All)
        {
            if (!configured.TryGetValue(o.Alias, out var alias)) continue;
            var promoted = alias.Deployments.FirstOrDefault(d => Same(d, o)) ?? new DeploymentOptions { Provider = o.Provider, Model = o.Model };
            var rest = alias.Deployments.Where(d => !Same(d, o)).OrderBy(d => d.Priority).ToList();
            var ordered = new List<DeploymentOptions> { Copy(promoted, 0) };
            ordered.AddRange(rest.Select((d, i) => Copy(d, i + 1)));
            result[o.Alias] = new AliasOptions { Strategy = "priority", Deployments = ordered };
        }
        return result;
    }

    private static bool Same(DeploymentOptions d, AliasOverride o) =>
        string.Equals(d.Provider, o.Provider, StringComparison.OrdinalIgnoreCase) && string.Equals(d.Model, o.Model, StringComparison.Ordinal);

    private static DeploymentOptions Copy(DeploymentOptions d, int priority) => new()
    {
        Provider = d.Provider,
        Model = d.Model,
        Weight = d.Weight,
        Priority = priority,
        MaxConcurrentRequests = d.MaxConcurrentRequests,
        ContextWindow = d.ContextWindow,
        InputPricePerMillion = d.InputPricePerMillion,
        OutputPricePerMillion = d.OutputPricePerMillion,
        Timeouts = d.Timeouts,
    };
}

/// <summary>Rebuilds the registry from the configuration sources (plus overrides) and swaps it into the engine.</summary>
public interface IRegistryReloader
{
    /// <summary>The errors that kept the running registry in force; empty when the new one is in force.</summary>
    Task<IReadOnlyList<string>> ReloadAsync();
}
