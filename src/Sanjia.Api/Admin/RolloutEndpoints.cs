using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sanjia.Core.Models;
using Sanjia.Core.Rollouts;

namespace Sanjia.Api.Admin;

/// <summary>
/// Gradual rollouts of an alias (master key only; docs/routing.md, "Gradual rollouts").
/// <c>POST /admin/aliases/{alias}/rollout</c> starts one toward <c>{"provider","model"}</c>, checked as a promotion's
/// target is, with its plan (steps in percent, minimum requests and dwell time per step, the guard's limits);
/// <c>GET</c> returns it with every step and its figures (the running step's as they stand); <c>DELETE</c> aborts it,
/// and the candidate gets nothing from then on.
/// </summary>
public sealed class RolloutEndpoints(AliasesEndpoints aliases, AliasRollouts rollouts, RolloutController controller, long maxBodyBytes)
{
    public const string Route = AliasesEndpoints.Route + "/{alias}/rollout";

    public static readonly AdminFields Fields = new("provider", "model", "steps", "min_requests_per_step", "dwell_seconds", "max_error_rate_increase", "max_latency_ratio");

    /// <summary>Steps of 5, 25 and 100 % with 100 requests and 5 minutes each, and at most 5 points more vendor failures: the defaults.</summary>
    private static readonly int[] DefaultSteps = [5, 25, 100];
    private const int MaxSteps = 20;

    public async Task StartAsync(HttpContext http, string alias)
    {
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, Fields).ConfigureAwait(false) is not { } body) return;
        if (PlanError(body) is { } bad)
        {
            await AdminHttp.BadRequestAsync(http, bad.Message, bad.Field).ConfigureAwait(false);
            return;
        }
        var plan = ReadPlan(body);
        if (await aliases.CheckTargetAsync(http, alias, AdminHttp.Text(body, "provider"), AdminHttp.Text(body, "model"), "the deployment to roll out", "No rollout was started").ConfigureAwait(false)
            is not ({ } current, { } target))
        {
            return;
        }
        var candidate = target.Deployments[0];
        if (current.Deployments.Count > 0 && string.Equals(current.Deployments[0].Id, candidate.Id, StringComparison.OrdinalIgnoreCase))
        {
            await AdminHttp.BadRequestAsync(http, $"'{candidate.Id}' is already the first choice of alias '{current.RequestedId}': there is nothing to roll out.", "model", "invalid_deployment").ConfigureAwait(false);
            return;
        }
        var (started, error) = await controller.StartAsync(current.RequestedId, candidate.Provider.Name, candidate.UpstreamModel, plan).ConfigureAwait(false);
        if (error is not null)
        {
            await AdminHttp.WriteErrorAsync(http, error).ConfigureAwait(false);
            return;
        }
        await AdminHttp.WriteJsonAsync(http, Write(started!, null)).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext http, string alias)
    {
        if (rollouts.Get(alias) is not { } r)
        {
            await AdminHttp.NotFoundAsync(http, $"Alias '{alias}' has had no rollout.", "rollout_not_found").ConfigureAwait(false);
            return;
        }
        var live = r.IsRunning ? await controller.FiguresAsync(r, http.RequestAborted).ConfigureAwait(false) : ((RolloutFigures, RolloutFigures)?)null;
        await AdminHttp.WriteJsonAsync(http, Write(r, live)).ConfigureAwait(false);
    }

    public async Task AbortAsync(HttpContext http, string alias)
    {
        var (aborted, error) = await controller.AbortAsync(alias).ConfigureAwait(false);
        if (error is not null)
        {
            await AdminHttp.WriteErrorAsync(http, error).ConfigureAwait(false);
            return;
        }
        await AdminHttp.WriteJsonAsync(http, Write(aborted!, null)).ConfigureAwait(false);
    }

    /// <summary>The plan of a body <see cref="PlanError"/> found nothing wrong with; defaults for what it leaves out.</summary>
    private static RolloutPlan ReadPlan(JsonObject body)
    {
        var steps = body["steps"] is JsonArray a ? a.Select(s => s!.GetValue<int>()).ToArray() : DefaultSteps;
        return new RolloutPlan(steps, Number(body, "min_requests_per_step") is { } n ? (int)n : 100, Number(body, "dwell_seconds") ?? 300,
            Number(body, "max_error_rate_increase") ?? 0.05, Number(body, "max_latency_ratio"));
    }

    /// <summary>What is wrong with the plan's fields, or null: every error is a 400 naming its field, never a 500.</summary>
    private static (string Message, string Field)? PlanError(JsonObject body)
    {
        if (body["steps"] is { } stepsNode)
        {
            if (stepsNode is not JsonArray steps || steps.Count is 0 or > MaxSteps || steps.Any(s => s is not JsonValue v || !v.TryGetValue<int>(out _)))
            {
                return ($"'steps' must be an array of 1 to {MaxSteps} whole percentages, e.g. [5, 25, 100].", "steps");
            }
            var values = steps.Select(s => s!.GetValue<int>()).ToArray();
            if (values.Any(v => v is < 1 or > 100) || values.Zip(values.Skip(1)).Any(p => p.Second <= p.First) || values[^1] != 100)
            {
                return ("'steps' must be increasing percentages between 1 and 100, ending at 100, e.g. [5, 25, 100].", "steps");
            }
        }
        foreach (var name in new[] { "min_requests_per_step", "dwell_seconds", "max_error_rate_increase", "max_latency_ratio" })
        {
            // A finite one: 1e309 reads as infinity, and infinity cannot be written back as JSON.
            if (body[name] is { } node && (node is not JsonValue v || !v.TryGetValue<double>(out var d) || !double.IsFinite(d)))
            {
                return ($"'{name}' must be a number.", name);
            }
        }
        if (Number(body, "min_requests_per_step") is { } min && (min < 1 || min > 1_000_000 || min != Math.Floor(min)))
        {
            return ("'min_requests_per_step' must be a whole number from 1 to 1000000.", "min_requests_per_step");
        }
        if (Number(body, "dwell_seconds") is { } dwell && (dwell < 0 || dwell > 30 * 86_400))
        {
            return ("'dwell_seconds' must be between 0 and 2592000 (30 days).", "dwell_seconds");
        }
        if (Number(body, "max_error_rate_increase") is { } inc && inc is < 0 or > 1)
        {
            return ("'max_error_rate_increase' is an absolute rate between 0 and 1 (0.05 = 5 points more vendor failures than the incumbent).", "max_error_rate_increase");
        }
        if (Number(body, "max_latency_ratio") is { } ratio && ratio <= 0)
        {
            return ("'max_latency_ratio' must be positive (1.5 = the candidate's median latency at most 1.5 times the incumbent's).", "max_latency_ratio");
        }
        return null;
    }

    private static double? Number(JsonObject body, string name) => body[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static JsonObject Write(AliasRollout r, (RolloutFigures Candidate, RolloutFigures Incumbent)? live)
    {
        var steps = new JsonArray();
        for (var i = 0; i < r.Steps.Count; i++)
        {
            var s = r.Steps[i];
            var current = i == r.Steps.Count - 1 && live is not null;
            steps.Add(new JsonObject
            {
                ["percent"] = s.Percent,
                ["started_at"] = s.StartedAt.ToUnixTimeMilliseconds() / 1000.0,
                ["ended_at"] = s.EndedAt is { } e ? e.ToUnixTimeMilliseconds() / 1000.0 : null,
                ["candidate"] = Write(current ? live!.Value.Candidate : s.Candidate),
                ["incumbent"] = Write(current ? live!.Value.Incumbent : s.Incumbent),
                ["decision"] = s.Decision,
                ["reason"] = s.Reason,
            });
        }
        return new JsonObject
        {
            ["object"] = "alias.rollout",
            ["alias"] = r.Alias,
            ["provider"] = r.Provider,
            ["model"] = r.Model,
            ["status"] = r.Status,
            ["percent"] = r.Percent,
            ["version"] = r.Version,
            ["started_at"] = r.StartedAt.ToUnixTimeMilliseconds() / 1000.0,
            ["ended_at"] = r.EndedAt is { } end ? end.ToUnixTimeMilliseconds() / 1000.0 : null,
            ["plan"] = new JsonObject
            {
                ["steps"] = new JsonArray([.. r.Plan.Steps.Select(p => (JsonNode)p)]),
                ["min_requests_per_step"] = r.Plan.MinRequestsPerStep,
                ["dwell_seconds"] = r.Plan.DwellSeconds,
                ["max_error_rate_increase"] = r.Plan.MaxErrorRateIncrease,
                ["max_latency_ratio"] = r.Plan.MaxLatencyRatio,
            },
            ["steps"] = steps,
        };
    }

    private static JsonObject? Write(RolloutFigures? f) => f is null ? null : new JsonObject
    {
        ["requests"] = f.Requests,
        ["vendor_failures"] = f.VendorFailures,
        ["vendor_failure_rate"] = f.FailureRate,
        ["latency_p50_ms"] = f.LatencyP50Ms,
    };
}
