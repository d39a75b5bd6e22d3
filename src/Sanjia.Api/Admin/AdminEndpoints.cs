using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Abstractions;
using Sanjia.Api.Infrastructure;
using Sanjia.Core.Budgets;
using Sanjia.Core.Configuration;
using Sanjia.Core.Keys;
using Sanjia.Core.Metering;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Pricing;
using Sanjia.Core.Reports;
using Sanjia.Core.Json;

namespace Sanjia.Api.Admin;

/// <summary>
/// <c>/admin/*</c>: virtual keys, teams and spend reports (docs/admin-api.md). Only the master key reaches these
/// routes (<see cref="ApiKeyAuthentication"/>); every write goes to the store first, then to the in-memory cache.
/// </summary>
public sealed class AdminEndpoints(IKeyStore store, VirtualKeyCache cache, IBudgetTracker budgets, ISpendSource spend,
    JournaledLedger? ledger, SanjiaOptions options, TimeProvider time, GatewayEngine engine)
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        var s = routes.ServiceProvider;
        var a = new AdminEndpoints(s.GetRequiredService<IKeyStore>(), s.GetRequiredService<VirtualKeyCache>(), s.GetRequiredService<IBudgetTracker>(),
            s.GetRequiredService<ISpendSource>(), s.GetService<JournaledLedger>(), s.GetRequiredService<SanjiaOptions>(), s.GetRequiredService<TimeProvider>(),
            s.GetRequiredService<GatewayEngine>());
        routes.MapPost("/admin/keys", a.CreateKeyAsync);
        routes.MapGet("/admin/keys", a.ListKeysAsync);
        routes.MapGet("/admin/keys/{id}", a.GetKeyAsync);
        routes.MapPatch("/admin/keys/{id}", a.UpdateKeyAsync);
        routes.MapDelete("/admin/keys/{id}", a.RevokeKeyAsync);
        routes.MapPost("/admin/teams", a.CreateTeamAsync);
        routes.MapGet("/admin/teams", a.ListTeamsAsync);
        routes.MapGet("/admin/teams/{id}", a.GetTeamAsync);
        routes.MapPatch("/admin/teams/{id}", a.UpdateTeamAsync);
        routes.MapDelete("/admin/teams/{id}", a.DeleteTeamAsync);
        routes.MapGet("/admin/spend", a.SpendAsync);
    }

    /// <summary>Every admin route as (method, path template), for docs and the authorization test matrix.</summary>
    public static readonly (string Method, string Path)[] Routes =
    [
        ("POST", "/admin/keys"), ("GET", "/admin/keys"), ("GET", "/admin/keys/{id}"), ("PATCH", "/admin/keys/{id}"), ("DELETE", "/admin/keys/{id}"),
        ("POST", "/admin/teams"), ("GET", "/admin/teams"), ("GET", "/admin/teams/{id}"), ("PATCH", "/admin/teams/{id}"), ("DELETE", "/admin/teams/{id}"),
        ("GET", "/admin/spend"),
    ];

    private async Task CreateKeyAsync(HttpContext http)
    {
        if (await BodyAsync(http, AdminFields.Key) is not { } body) return;
        var secret = KeySecrets.NewSecret();
        var key = new VirtualKey
        {
            Id = KeySecrets.NewId("key"),
            Name = "key",
            SecretHash = KeySecrets.Hash(secret),
            Prefix = secret[..(KeySecrets.Prefix.Length + 4)],
            CreatedAt = time.GetUtcNow(),
        };
        var (ok, updated) = await TryApplyKeyAsync(http, body, key, created: true);
        if (!ok) return;
        await store.UpsertKeyAsync(updated!, http.RequestAborted);
        cache.Put(updated!);
        AdminAudit.Target(http, updated!.Id);
        await WriteAsync(http, 201, w => AdminJson.WriteKey(w, updated!, secret, null, time.GetUtcNow()));
    }

    private async Task ListKeysAsync(HttpContext http)
    {
        var keys = await store.ListKeysAsync(http.RequestAborted);
        var team = http.Request.Query["team_id"].ToString();
        await WriteAsync(http, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            var now = time.GetUtcNow();
            foreach (var k in keys.Where(k => team.Length == 0 || k.TeamId == team)) AdminJson.WriteKey(w, k, null, null, now);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private async Task GetKeyAsync(HttpContext http, string id)
    {
        if (await store.GetKeyAsync(id, http.RequestAborted) is not { } key)
        {
            await NotFoundAsync(http, "key", id);
            return;
        }
        var status = key.Budget is { } b ? await budgets.StatusAsync(new BudgetScope("key", key.Id, b), http.RequestAborted) : ((decimal, decimal, DateTimeOffset?)?)null;
        await WriteAsync(http, 200, w => AdminJson.WriteKey(w, key, null, status, time.GetUtcNow()));
    }

    private async Task UpdateKeyAsync(HttpContext http, string id)
    {
        if (await BodyAsync(http, AdminFields.Key) is not { } body) return;
        if (await store.GetKeyAsync(id, http.RequestAborted) is not { } key)
        {
            await NotFoundAsync(http, "key", id);
            return;
        }
        if (key.RevokedAt is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid($"The key '{id}' is revoked and cannot be changed.", "id", "key_revoked"));
            return;
        }
        var (ok, updated) = await TryApplyKeyAsync(http, body, key, created: false);
        if (!ok) return;
        await store.UpsertKeyAsync(updated!, http.RequestAborted);
        cache.Put(updated!);
        await WriteAsync(http, 200, w => AdminJson.WriteKey(w, updated!, null, null, time.GetUtcNow()));
    }

    private async Task RevokeKeyAsync(HttpContext http, string id)
    {
        if (await store.GetKeyAsync(id, http.RequestAborted) is not { } key)
        {
            await NotFoundAsync(http, "key", id);
            return;
        }
        var revoked = key.RevokedAt is null ? key with { RevokedAt = time.GetUtcNow() } : key;
        await store.UpsertKeyAsync(revoked, http.RequestAborted);
        cache.Put(revoked); // takes the hash out of the cache: the next request with this key gets 401
        await WriteAsync(http, 200, w => AdminJson.WriteKey(w, revoked, null, null, time.GetUtcNow()));
    }

    private async Task<(bool Ok, VirtualKey? Key)> TryApplyKeyAsync(HttpContext http, JsonElement body, VirtualKey key, bool created)
    {
        try
        {
            if (AdminRequests.Has(body, "name", out var n)) key = key with { Name = AdminRequests.String(n, "name") ?? "key" };
            if (AdminRequests.Has(body, "team_id", out var t))
            {
                var team = AdminRequests.String(t, "team_id");
                if (team is not null && await store.GetTeamAsync(team, http.RequestAborted) is null)
                {
                    throw new AdminRequests.Invalid($"There is no team '{team}'.", "team_id");
                }
                key = key with { TeamId = team };
            }
            if (AdminRequests.Has(body, "allowed_models", out var m)) key = key with { AllowedModels = AllowedModels(m, key.AllowedModels) };
            if (AdminRequests.Has(body, "budget", out var b)) key = key with { Budget = AdminRequests.ReadBudget(b) };
            if (AdminRequests.Has(body, "rpm_limit", out var rpm)) key = key with { RpmLimit = AdminRequests.PositiveInt(rpm, "rpm_limit") };
            if (AdminRequests.Has(body, "tpm_limit", out var tpm)) key = key with { TpmLimit = AdminRequests.PositiveInt(tpm, "tpm_limit") };
            if (AdminRequests.Has(body, "metadata", out var md)) key = key with { Metadata = AdminRequests.Metadata(md) };
            if (AdminRequests.Has(body, "expires_at", out var exp)) key = key with { ExpiresAt = AdminRequests.Rfc3339(exp, "expires_at") };
            if (AdminRequests.Has(body, "scopes", out var sc)) key = key with { Scopes = AdminRequests.Scopes(sc) };
            if (AdminRequests.Has(body, "guardrails", out var gr)) key = key with { Guardrails = GuardrailNames(gr) };
            _ = created;
            return (true, key);
        }
        catch (AdminRequests.Invalid ex)
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(ex.Message, ex.Param, ex.Code));
            return (false, null);
        }
    }

    private async Task CreateTeamAsync(HttpContext http)
    {
        if (await BodyAsync(http, AdminFields.Team) is not { } body) return;
        var team = new Team { Id = KeySecrets.NewId("team"), Name = "team", CreatedAt = time.GetUtcNow() };
        if (await TryApplyTeamAsync(http, body, team) is not { } updated) return;
        await store.UpsertTeamAsync(updated, http.RequestAborted);
        cache.PutTeam(updated);
        AdminAudit.Target(http, updated.Id);
        await WriteAsync(http, 201, w => AdminJson.WriteTeam(w, updated, null));
    }

    private async Task ListTeamsAsync(HttpContext http)
    {
        var teams = await store.ListTeamsAsync(http.RequestAborted);
        await WriteAsync(http, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var t in teams) AdminJson.WriteTeam(w, t, null);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private async Task GetTeamAsync(HttpContext http, string id)
    {
        if (await store.GetTeamAsync(id, http.RequestAborted) is not { } team)
        {
            await NotFoundAsync(http, "team", id);
            return;
        }
        var status = team.Budget is { } b ? await budgets.StatusAsync(new BudgetScope("team", team.Id, b), http.RequestAborted) : ((decimal, decimal, DateTimeOffset?)?)null;
        await WriteAsync(http, 200, w => AdminJson.WriteTeam(w, team, status));
    }

    private async Task UpdateTeamAsync(HttpContext http, string id)
    {
        if (await BodyAsync(http, AdminFields.Team) is not { } body) return;
        if (await store.GetTeamAsync(id, http.RequestAborted) is not { } team)
        {
            await NotFoundAsync(http, "team", id);
            return;
        }
        if (await TryApplyTeamAsync(http, body, team) is not { } updated) return;
        await store.UpsertTeamAsync(updated, http.RequestAborted);
        cache.PutTeam(updated);
        await WriteAsync(http, 200, w => AdminJson.WriteTeam(w, updated, null));
    }

    private async Task DeleteTeamAsync(HttpContext http, string id)
    {
        if (await store.GetTeamAsync(id, http.RequestAborted) is null)
        {
            await NotFoundAsync(http, "team", id);
            return;
        }
        if ((await store.ListKeysAsync(http.RequestAborted)).Any(k => k.TeamId == id && k.RevokedAt is null))
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid($"The team '{id}' still has active keys; revoke or move them first.", "id", "team_not_empty"));
            return;
        }
        await store.DeleteTeamAsync(id, http.RequestAborted);
        cache.RemoveTeam(id);
        await WriteAsync(http, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "team");
            w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        });
    }

    /// <summary>Guardrail policy names, each configured under <c>Sanjia:Guardrails:Policies</c> (docs/guardrails.md).</summary>
    /// <summary>
    /// A key's <c>allowed_models</c>: each an id a client can send now (an alias, a listed model, or <c>provider/model</c>
    /// for a provider that forwards models it does not list), else a 400 naming <c>allowed_models[i]</c>: a key allowed
    /// only a misspelt id could call nothing. Ids the key already holds are kept even when a reload has since removed
    /// them, so a PATCH that sends the list back as it reads it is not refused for that.
    /// </summary>
    private List<string> AllowedModels(JsonElement value, IReadOnlyList<string> held)
    {
        var ids = AdminRequests.Strings(value, "allowed_models");
        var registry = engine.Registry;
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            if (held.Contains(id, StringComparer.OrdinalIgnoreCase)) continue;
            var param = string.Create(CultureInfo.InvariantCulture, $"allowed_models[{i}]");
            // Matched as the client sends it, never as a pattern; a provider that forwards unlisted models would
            // otherwise take "openai/*" as a model named "*".
            if (id.Contains('*', StringComparison.Ordinal))
            {
                throw new AdminRequests.Invalid($"'{id}' is a pattern: allowed_models takes model ids as clients send them, without wildcards.", param);
            }
            if (registry.Resolve(id) is null)
            {
                throw new AdminRequests.Invalid(
                    $"There is no model '{id}': allowed_models takes aliases and models the gateway serves (GET /v1/models), or provider/model for a configured provider.", param);
            }
        }
        return ids;
    }

    private IReadOnlyList<string> GuardrailNames(JsonElement value)
    {
        var names = AdminRequests.Strings(value, "guardrails");
        foreach (var name in names)
        {
            if (!options.Guardrails.Policies.ContainsKey(name))
            {
                var known = options.Guardrails.Policies.Count == 0 ? "none is configured" : "configured: " + string.Join(", ", options.Guardrails.Policies.Keys);
                throw new AdminRequests.Invalid($"There is no guardrail policy '{name}' ({known}).", "guardrails");
            }
        }
        return names;
    }

    private async Task<Team?> TryApplyTeamAsync(HttpContext http, JsonElement body, Team team)
    {
        try
        {
            if (AdminRequests.Has(body, "name", out var n)) team = team with { Name = AdminRequests.String(n, "name") ?? "team" };
            if (AdminRequests.Has(body, "budget", out var b)) team = team with { Budget = AdminRequests.ReadBudget(b) };
            if (AdminRequests.Has(body, "metadata", out var md)) team = team with { Metadata = AdminRequests.Metadata(md) };
            if (AdminRequests.Has(body, "guardrails", out var gr)) team = team with { Guardrails = GuardrailNames(gr) };
            return team;
        }
        catch (AdminRequests.Invalid ex)
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(ex.Message, ex.Param, ex.Code));
            return null;
        }
    }

    /// <summary><c>GET /admin/spend?group_by=key|team|model|provider|day&amp;from=&amp;to=&amp;currency=&amp;format=json|csv</c>; a bad parameter is a 400 naming it.</summary>
    private async Task SpendAsync(HttpContext http)
    {
        var q = http.Request.Query;
        var groupBy = q["group_by"].ToString() is { Length: > 0 } g ? g.ToLowerInvariant() : "key";
        var fromOk = TryTime(q["from"].ToString(), DateTimeOffset.UnixEpoch, out var from);
        var toOk = TryTime(q["to"].ToString(), DateTimeOffset.MaxValue, out var to);
        if (!fromOk || !toOk)
        {
            var bad = fromOk ? "to" : "from";
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid($"'{bad}' must be an ISO 8601 date or time (UTC when no offset is given).", bad));
            return;
        }
        var format = q["format"].ToString() is { Length: > 0 } f ? f.ToLowerInvariant() : "json";
        if (format is not ("json" or "csv"))
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid("'format' must be json (the default) or csv.", "format"));
            return;
        }
        if (ledger is not null) await ledger.FlushAsync(http.RequestAborted); // entries journaled but not yet stored
        var entries = await spend.ReadRangeAsync(from, to == DateTimeOffset.MaxValue ? to.AddDays(-1) : to, http.RequestAborted);
        var currency = q["currency"].ToString() is { Length: > 0 } c ? c : null;
        var (report, error) = SpendReport.Build(entries, groupBy, from, to, currency, new CurrencyConverter(options.Metering));
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(error, error.StartsWith("group_by", StringComparison.Ordinal) ? "group_by" : "currency"));
            return;
        }
        if (format == "csv")
        {
            http.Response.ContentType = "text/csv; charset=utf-8";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"spend-by-{groupBy}.csv\"";
            await http.Response.WriteAsync(SpendReport.ToCsv(report!), http.RequestAborted);
            return;
        }
        await WriteAsync(http, 200, w => AdminJson.WriteSpend(w, report!));
    }

    private static bool TryTime(string text, DateTimeOffset fallback, out DateTimeOffset value)
    {
        value = fallback;
        return text.Length == 0 || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    private static async Task<JsonElement?> BodyAsync(HttpContext http, AdminFields fields)
    {
        var (body, error) = await RequestBody.ReadAsync(http, 64 * 1024);
        if (error is not null)
        {
            await OpenAiErrorWriter.WriteAsync(http, error);
            return null;
        }
        try
        {
            var parsed = AdminRequests.Parse(body);
            if (fields.Check(parsed.EnumerateObject().Select(p => p.Name)) is { } unknown)
            {
                await OpenAiErrorWriter.WriteAsync(http, unknown);
                return null;
            }
            return parsed;
        }
        catch (AdminRequests.Invalid ex)
        {
            await OpenAiErrorWriter.WriteAsync(http, GatewayError.Invalid(ex.Message, ex.Param, ex.Code));
            return null;
        }
    }

    private static Task NotFoundAsync(HttpContext http, string kind, string id) =>
        OpenAiErrorWriter.WriteAsync(http, new GatewayError(GatewayErrorKind.ModelNotFound, $"There is no {kind} '{id}'.") { Param = "id", Code = kind + "_not_found" });

    private static async Task WriteAsync(HttpContext http, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, SanjiaJson.Writer)) write(w);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = buffer.Length;
        await http.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), http.RequestAborted);
    }
}
