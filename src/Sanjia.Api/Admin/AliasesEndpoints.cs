using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Routing;

namespace Sanjia.Api.Admin;

/// <summary>
/// Promotion, the migration's last step (master key only). <c>POST /admin/aliases/{alias}/promote
/// {"provider","model"}</c> makes that deployment the alias's first choice: the override is written to the data
/// folder and the registry is rebuilt and swapped in (requests in flight finish where they started), so clients
/// keep sending the alias and their traffic moves. <c>DELETE /admin/aliases/{alias}/promote</c> returns the alias to
/// its configuration; <c>GET /admin/aliases</c> lists every alias's deployments in order with its override.
/// </summary>
public sealed class AliasesEndpoints(GatewayEngine engine, AliasOverrides overrides, IRegistryReloader reloader, TimeProvider time, long maxBodyBytes)
{
    public const string Route = "/admin/aliases";
    // One promotion at a time: each writes the overrides file and rebuilds the registry.
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Checks the target against the vendor's model list (else the configured one) before promoting.</summary>
    public ModelAvailability? Availability { get; init; }

    public async Task ListAsync(HttpContext http)
    {
        var list = new JsonArray();
        foreach (var a in engine.Registry.Aliases.OrderBy(a => a.RequestedId, StringComparer.Ordinal))
        {
            list.Add(Write(a));
        }
        await AdminHttp.WriteJsonAsync(http, new JsonObject { ["object"] = "list", ["data"] = list }).ConfigureAwait(false);
    }

    public async Task PromoteAsync(HttpContext http, string alias)
    {
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, AdminFields.Promote).ConfigureAwait(false) is not { } body) return;
        if (await CheckTargetAsync(http, alias, AdminHttp.Text(body, "provider"), AdminHttp.Text(body, "model"), "the deployment to make the alias's first choice", "Nothing was promoted").ConfigureAwait(false) is not ({ } current, { } target))
        {
            return;
        }
        await _gate.WaitAsync(http.RequestAborted).ConfigureAwait(false);
        try
        {
            var previous = overrides.Set(current.RequestedId, new AliasOverride(current.RequestedId, target.Deployments[0].Provider.Name, target.Deployments[0].UpstreamModel, time.GetUtcNow()));
            var errors = await reloader.ReloadAsync().ConfigureAwait(false);
            if (errors.Count > 0)
            {
                // The configuration files themselves are currently invalid: keep the promotion out until they are fixed.
                overrides.Set(current.RequestedId, previous);
                await AdminHttp.WriteErrorAsync(http, new GatewayError(GatewayErrorKind.InvalidRequest,
                    "The promotion was not applied: the configuration does not load: " + string.Join(" ", errors)) { Code = "configuration_invalid" }).ConfigureAwait(false);
                return;
            }
        }
        finally
        {
            _gate.Release();
        }
        await AdminHttp.WriteJsonAsync(http, Write(engine.Registry.Resolve(alias)!)).ConfigureAwait(false);
    }

    /// <summary>
    /// The alias and the deployment a promotion or a rollout would move it to, checked: the alias exists, the target
    /// is served here, is of the alias's kind and is on the vendor's model list (else the configured one). Null, with
    /// the error written, otherwise. <paramref name="what"/> names the target in a missing field's message,
    /// <paramref name="refused"/> says what did not happen when the alias is unknown ("No rollout was started").
    /// </summary>
    internal async Task<(ResolvedModel Alias, ResolvedModel Target)?> CheckTargetAsync(HttpContext http, string alias, string? provider, string? model, string what, string refused)
    {
        if (string.IsNullOrWhiteSpace(provider) || string.IsNullOrWhiteSpace(model))
        {
            await AdminHttp.BadRequestAsync(http, $"Send {{\"provider\": ..., \"model\": ...}}: {what}.", provider is null ? "provider" : "model").ConfigureAwait(false);
            return null;
        }
        var current = engine.Registry.Resolve(alias);
        if (current is not { IsAlias: true })
        {
            await AdminHttp.NotFoundAsync(http, $"{refused}: no alias named '{alias}' is configured (aliases come from the configuration, Sanjia:Models; GET /admin/aliases lists them).", "alias_not_found").ConfigureAwait(false);
            return null;
        }
        var target = engine.Registry.Resolve($"{provider}/{model}");
        if (target is null || target.Kind != current.Kind)
        {
            await AdminHttp.BadRequestAsync(http, target is null
                ? $"'{provider}/{model}' is not served by this gateway (unknown provider, or a model the provider does not list)."
                : $"'{provider}/{model}' is {target.Kind.WithArticle()} but alias '{alias}' serves {current.Kind.ToString().ToLowerInvariant()} models.", "model", "invalid_deployment").ConfigureAwait(false);
            return null;
        }
        // A typo here would send every request of the alias to a 404: the vendor must list the model.
        if (Availability is not null && await Availability.CheckAsync($"{provider}/{model}", current.Kind, http.RequestAborted).ConfigureAwait(false) is { } missing)
        {
            await AdminHttp.BadRequestAsync(http, missing.Message, "model", "invalid_deployment").ConfigureAwait(false);
            return null;
        }
        return (current, target);
    }

    public async Task RevertAsync(HttpContext http, string alias)
    {
        await _gate.WaitAsync(http.RequestAborted).ConfigureAwait(false);
        try
        {
            if (overrides.Set(alias, null) is null)
            {
                await AdminHttp.NotFoundAsync(http, $"Alias '{alias}' has no promotion to remove.", "override_not_found").ConfigureAwait(false);
                return;
            }
            await reloader.ReloadAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        if (engine.Registry.Resolve(alias) is { IsAlias: true } resolved)
        {
            await AdminHttp.WriteJsonAsync(http, Write(resolved)).ConfigureAwait(false);
        }
        else
        {
            await AdminHttp.WriteJsonAsync(http, new JsonObject { ["id"] = alias, ["object"] = "alias", ["deleted_override"] = true }).ConfigureAwait(false);
        }
    }

    private JsonObject Write(ResolvedModel a)
    {
        var o = overrides.Get(a.RequestedId);
        return new JsonObject
        {
            ["id"] = a.RequestedId,
            ["object"] = "alias",
            // The strategy the router applies: the alias's own, else the configuration's default (docs/routing.md).
            ["strategy"] = a.Strategy ?? a.Routing?.DefaultStrategy ?? PriorityStrategy.StrategyName,
            ["deployments"] = new JsonArray([.. a.Deployments.Select(d => (JsonNode)d.Id)]),
            ["promoted"] = o is null ? null : new JsonObject { ["provider"] = o.Provider, ["model"] = o.Model, ["promoted_at"] = o.PromotedAt.ToUnixTimeSeconds() },
            // The running rollout as the router applies it (GET /admin/aliases/{alias}/rollout has its steps).
            ["rollout"] = a.Rollout is { } r ? new JsonObject { ["deployment"] = r.Candidate.Id, ["percent"] = r.Percent } : null,
        };
    }
}
