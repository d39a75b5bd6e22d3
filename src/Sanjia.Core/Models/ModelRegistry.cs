using System.Collections.Frozen;
using Sanjia.Abstractions;
using Sanjia.Core.Configuration;

namespace Sanjia.Core.Models;

/// <summary>One place a request can go: a provider and the model name it knows.</summary>
public sealed record Deployment(IProvider Provider, string UpstreamModel)
{
    public string Id { get; } = Provider.Name + "/" + UpstreamModel;

    /// <summary>Weight, priority, limits and timeouts from the alias entry (defaults outside aliases).</summary>
    public DeploymentSettings Settings { get; init; } = DeploymentSettings.Default;
}

/// <summary>What a model id the client sent resolves to: deployments in priority order.</summary>
public sealed record ResolvedModel(string RequestedId, ModelKind Kind, IReadOnlyList<Deployment> Deployments, bool IsAlias)
{
    /// <summary>The alias's routing strategy by name; null = the configured default.</summary>
    public string? Strategy { get; init; }

    /// <summary>
    /// The routing options of the configuration this model was resolved in (<see cref="ModelRegistry.Routing"/>): the
    /// router reads them from here, so a request keeps its snapshot's retries and timeouts across a reload.
    /// </summary>
    public RoutingOptions? Routing { get; init; }

    /// <summary>The response cache's rules for this model (docs/caching.md); null when the cache does not apply to it.</summary>
    public Caching.CachePolicy? Cache { get; init; }

    /// <summary>The alias's gradual rollout while one runs (docs/routing.md); null otherwise, which is all the router reads then.</summary>
    public RolloutRoute? Rollout { get; init; }

    /// <summary>
    /// Whether <see cref="Kind"/> is known (every deployment is a model its provider lists, by configuration, preset or
    /// local file) rather than assumed: a model known to be of another kind is refused before any call.
    /// </summary>
    public bool KindKnown { get; init; } = true;
}

/// <summary>
/// A running rollout as the router sees it: <see cref="Percent"/> % of the alias's requests try
/// <see cref="Candidate"/> first (then the alias's usual order), the others the usual order without it.
/// </summary>
public sealed record RolloutRoute(Deployment Candidate, int Percent);

/// <summary>
/// The runtime model built from validated configuration: immutable, so a new one can be swapped in whole.
/// Resolution order: configured alias, then <c>provider/model</c>.
/// </summary>
public sealed class ModelRegistry
{
    private readonly FrozenDictionary<string, IProvider> _providers;
    private readonly FrozenDictionary<string, ResolvedModel> _aliases;
    private readonly FrozenDictionary<string, ResolvedModel> _listed;
    /// <summary>The cache policy of models that are not aliases (<c>Sanjia:Cache</c> alone).</summary>
    private readonly Caching.CachePolicy? _cache;

    /// <param name="routing">The routing options that go with these models (null: the router's own, for tools and tests).</param>
    /// <param name="cache">The response cache's settings (<c>Sanjia:Cache</c>), resolved per model with each alias's own (null: off).</param>
    /// <param name="rollouts">The rollouts running now (<see cref="AliasRollouts.RunningNow"/>); one of an alias, provider or model no longer configured or served is left out.</param>
    public ModelRegistry(IEnumerable<IProvider> providers, IReadOnlyDictionary<string, AliasOptions> aliases, ConfigErrors errors, DateTimeOffset created,
        RoutingOptions? routing = null, Caching.CacheOptions? cache = null, IReadOnlyList<AliasRollout>? rollouts = null)
    {
        Routing = routing;
        _cache = Caching.CachePolicy.For(cache, null);
        var byName = new Dictionary<string, IProvider>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in providers)
        {
            if (!byName.TryAdd(p.Name, p))
            {
                errors.Add($"{SanjiaOptions.Section}:Providers:{p.Name}", "this provider name is defined twice.");
            }
        }
        _providers = byName.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

        var listed = new Dictionary<string, ResolvedModel>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in byName.Values)
        {
            foreach (var (model, kind) in p.Models)
            {
                var d = new Deployment(p, model);
                listed[d.Id] = new ResolvedModel(d.Id, kind, [d], IsAlias: false) { Routing = routing, Cache = kind == ModelKind.Chat ? _cache : null };
            }
        }
        _listed = listed.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

        var resolvedAliases = new Dictionary<string, ResolvedModel>(StringComparer.OrdinalIgnoreCase);
        foreach (var (alias, a) in aliases)
        {
            var deployments = new List<Deployment>();
            ModelKind? kind = null;
            var unlisted = false;
            for (var i = 0; i < a.Deployments.Count; i++)
            {
                var path = $"{SanjiaOptions.Section}:Models:{alias}:Deployments:{i}";
                var dep = a.Deployments[i];
                if (dep.Provider is null || dep.Model is null)
                {
                    continue; // already reported by OptionsValidator
                }
                if (!byName.TryGetValue(dep.Provider, out var provider))
                {
                    errors.Add($"{path}:Provider", $"no provider named '{dep.Provider}' is configured (known: {string.Join(", ", byName.Keys.Order())}).");
                    continue;
                }
                var d = new Deployment(provider, dep.Model) { Settings = DeploymentSettings.From(dep) };
                var depKind = listed.TryGetValue(d.Id, out var l) ? l.Kind : ModelKind.Chat;
                unlisted |= l is null;
                if (!listed.ContainsKey(d.Id) && !provider.AcceptsUnlistedModels)
                {
                    errors.Add($"{path}:Model", $"provider '{provider.Name}' does not serve a model named '{dep.Model}'.");
                    continue;
                }
                if (kind is not null && kind != depKind)
                {
                    errors.Add($"{path}:Model", "mixes models of different kinds (chat, embedding, image) in one alias.");
                }
                kind ??= depKind;
                deployments.Add(d);
            }
            resolvedAliases[alias] = new ResolvedModel(alias, kind ?? ModelKind.Chat, deployments, IsAlias: true)
            {
                Strategy = a.Strategy,
                Routing = routing,
                Cache = (kind ?? ModelKind.Chat) == ModelKind.Chat ? Caching.CachePolicy.For(cache, a.Cache) : null,
                KindKnown = !unlisted,
            };
        }
        foreach (var r in rollouts ?? [])
        {
            if (!resolvedAliases.TryGetValue(r.Alias, out var a) || !byName.TryGetValue(r.Provider, out var provider)) continue;
            // The alias's own entry when it lists the candidate (its settings, and the object the router leaves out of the usual order).
            var candidate = a.Deployments.FirstOrDefault(d => d.Provider == provider && d.UpstreamModel == r.Model) ?? new Deployment(provider, r.Model);
            // A model its provider no longer serves (a local model's file removed) is no candidate: the alias routes as
            // without the rollout, and the controller ends it at its next check.
            if (!listed.TryGetValue(candidate.Id, out var l) && !provider.AcceptsUnlistedModels) continue;
            var kind = l?.Kind ?? ModelKind.Chat;
            if (kind != a.Kind) continue;
            resolvedAliases[r.Alias] = a with { Rollout = new RolloutRoute(candidate, r.Percent) };
        }
        _aliases = resolvedAliases.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        Created = created;
        Caching.Semantic.SemanticPolicy.Validate(this, errors);
    }

    public DateTimeOffset Created { get; }

    /// <summary>The routing options built with these models (one snapshot); null outside the host.</summary>
    public RoutingOptions? Routing { get; }

    public IEnumerable<IProvider> Providers => _providers.Values;

    /// <summary>The configured aliases (for health views and checks).</summary>
    public IEnumerable<ResolvedModel> Aliases => _aliases.Values;

    public ResolvedModel? Resolve(string model)
    {
        if (_aliases.TryGetValue(model, out var alias))
        {
            return alias;
        }
        if (_listed.TryGetValue(model, out var listed))
        {
            return listed;
        }
        var slash = model.IndexOf('/');
        if (slash > 0 && slash < model.Length - 1
            && _providers.TryGetValue(model[..slash], out var provider) && provider.AcceptsUnlistedModels)
        {
            return new ResolvedModel(model, ModelKind.Chat, [new Deployment(provider, model[(slash + 1)..])], IsAlias: false) { Routing = Routing, Cache = _cache, KindKnown = false };
        }
        return null;
    }

    /// <summary>Every model id a client can name, aliases first.</summary>
    public IEnumerable<ModelInfo> List()
    {
        foreach (var a in _aliases.Values.OrderBy(a => a.RequestedId, StringComparer.Ordinal))
        {
            yield return new ModelInfo(a.RequestedId, a.Kind, "sanjia", Created);
        }
        foreach (var l in _listed.Values.OrderBy(a => a.RequestedId, StringComparer.Ordinal))
        {
            yield return new ModelInfo(l.RequestedId, l.Kind, l.Deployments[0].Provider.Name, Created);
        }
    }
}
