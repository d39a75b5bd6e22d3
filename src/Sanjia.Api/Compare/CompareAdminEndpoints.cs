using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Sanjia.Api.Admin;
using Sanjia.Api.Infrastructure;
using Sanjia.Abstractions;
using Sanjia.Core.Models;
using Sanjia.Core.Pipeline;
using Sanjia.Core.Prompts;
using Sanjia.Evaluation.Graders;
using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Suites;

namespace Sanjia.Api.Compare;

/// <summary>
/// Comparisons from the admin API (master key only). <c>POST /admin/compare</c> starts a run in the background and
/// answers 202 with its id; <c>GET /admin/compare/{id}</c> gives status and progress, and the report JSON once done;
/// <c>GET /admin/compare/{id}/report.html</c> the HTML report. Suite sources (exactly one): <c>suite</c> (YAML or JSON
/// text, or a JSON object), <c>suite_path</c> (a file on the gateway's machine), <c>prompt</c> (a library prompt and
/// cases of variables), or one that a <see cref="ISuiteSource"/> adds (replay of logged traffic).
/// </summary>
public sealed class CompareAdminEndpoints(CompareJobs jobs, GatewayEngine engine, IPromptStore prompts, IEnumerable<ISuiteSource> sources, long maxBodyBytes)
{
    public const string Route = "/admin/compare";

    /// <summary>What <see cref="StartAsync"/> reads, plus each suite source's own field.</summary>
    private readonly AdminFields _fields = new AdminFields("models", "baseline", "concurrency", "run_id", "suite", "suite_path", "prompt", "key", "stream", "seed", "margin", "samples", "max_cost", "log_cost")
        .With(sources.Select(s => s.Field));

    /// <summary>Checks every model (and the graders' judge and embedding models) before a run is started.</summary>
    public ModelAvailability? Availability { get; init; }

    /// <summary>Whether a key may call the model routes (<see cref="ApiKeyAuthentication.Admits"/>): a run's calls all go out with it.</summary>
    public Func<string, bool>? KeyAdmitted { get; init; }

    public async Task StartAsync(HttpContext http)
    {
        if (await AdminHttp.ReadObjectAsync(http, maxBodyBytes, _fields).ConfigureAwait(false) is not { } body) return;
        if (TypeError(body) is { } typeError)
        {
            await AdminHttp.BadRequestAsync(http, typeError.Message, typeError.Field).ConfigureAwait(false);
            return;
        }

        if (body["models"] is not JsonArray modelNodes || modelNodes.Count == 0 || modelNodes.Any(m => m is not JsonValue mv || !mv.TryGetValue<string>(out _)))
        {
            await AdminHttp.BadRequestAsync(http, "'models' must be a non-empty array of model ids or aliases.", "models").ConfigureAwait(false);
            return;
        }
        var models = modelNodes.Select(m => m!.GetValue<string>()).ToList();
        if (models.Distinct(StringComparer.Ordinal).Count() != models.Count)
        {
            await AdminHttp.BadRequestAsync(http, "'models' lists a model twice.", "models").ConfigureAwait(false);
            return;
        }
        var baseline = AdminHttp.Text(body, "baseline") ?? models[0];
        if (!models.Contains(baseline, StringComparer.Ordinal))
        {
            await AdminHttp.BadRequestAsync(http, $"'baseline' ('{baseline}') must be one of 'models'.", "baseline").ConfigureAwait(false);
            return;
        }
        var concurrency = AdminHttp.Int(body, "concurrency") ?? 4;
        if (concurrency is < 1 or > 256)
        {
            await AdminHttp.BadRequestAsync(http, "'concurrency' must be between 1 and 256.", "concurrency").ConfigureAwait(false);
            return;
        }
        var samples = AdminHttp.Int(body, "samples") ?? 1;
        if (samples is < 1 or > 100)
        {
            await AdminHttp.BadRequestAsync(http, "'samples' must be between 1 and 100.", "samples").ConfigureAwait(false);
            return;
        }
        var margin = Number(body, "margin") ?? ReportBuilder.DefaultMargin;
        if (margin is not (> 0 and <= 100))
        {
            await AdminHttp.BadRequestAsync(http, "'margin' must be a number of quality points above 0 and at most 100.", "margin").ConfigureAwait(false);
            return;
        }
        var maxCost = Number(body, "max_cost");
        if (maxCost is <= 0)
        {
            await AdminHttp.BadRequestAsync(http, "'max_cost' must be above 0.", "max_cost").ConfigureAwait(false);
            return;
        }
        var runId = AdminHttp.Text(body, "run_id");
        if (runId is not null && !PromptTemplate.IsValidId(runId))
        {
            await AdminHttp.BadRequestAsync(http, "'run_id' must be 1–100 letters, digits, '_', '-' or '.'.", "run_id").ConfigureAwait(false);
            return;
        }

        EvalSuite suite;
        string? suiteDirectory = null;
        Func<IModelRunner, IModelRunner> decorate = r => r;
        try
        {
            var named = new[] { "suite", "suite_path", "prompt" }.Concat(sources.Select(s => s.Field)).Where(body.ContainsKey).ToList();
            if (named.Count != 1)
            {
                await AdminHttp.BadRequestAsync(http, $"Give exactly one suite source: suite, suite_path, prompt{string.Concat(sources.Select(s => ", " + s.Field))} (got {(named.Count == 0 ? "none" : string.Join(", ", named))}).", "suite").ConfigureAwait(false);
                return;
            }
            switch (named[0])
            {
                case "suite":
                    suite = body["suite"] switch
                    {
                        JsonObject o => SuiteLoader.FromJson(o.ToJsonString(), "suite", "suite"),
                        JsonValue t when t.TryGetValue<string>(out var text) => text.TrimStart().StartsWith('{') && text.Contains("\n{", StringComparison.Ordinal)
                            ? SuiteLoader.FromJsonLines(text, "suite", "suite")
                            : SuiteLoader.FromYaml(text, "suite", "suite"),
                        _ => throw new SuiteFormatException("suite: must be YAML/JSON text or a JSON object."),
                    };
                    break;
                case "suite_path":
                    var path = AdminHttp.Text(body, "suite_path") ?? throw new SuiteFormatException("suite_path: must be a path.");
                    suite = SuiteLoader.Load(path);
                    suiteDirectory = Path.GetDirectoryName(Path.GetFullPath(path));
                    break;
                case "prompt":
                    var source = body["prompt"] as JsonObject ?? throw new SuiteFormatException("prompt: must be an object {id, version, cases}.");
                    (suite, decorate) = await PromptSuite.BuildAsync(source, prompts, engine.Registry, models, http.RequestAborted).ConfigureAwait(false);
                    break;
                default:
                    suite = await sources.Single(s => s.Field == named[0]).BuildAsync(body[named[0]], http.RequestAborted).ConfigureAwait(false);
                    break;
            }
            // Every grader is built now, so a bad setting is a 400 here and not a failed run later.
            var graders = new GraderRegistry(suiteDirectory);
            foreach (var c in suite.Cases)
            {
                foreach (var g in c.Graders) graders.Create(g, c);
            }
        }
        catch (SuiteFormatException e)
        {
            await AdminHttp.BadRequestAsync(http, e.Message, "suite", "invalid_suite").ConfigureAwait(false);
            return;
        }

        // Every model and every grader's model must exist before a call is spent (a typo costs nothing but this 400).
        if (Availability is not null)
        {
            var graderModels = CompareRunner.GraderModels(suite, new GraderRegistry(suiteDirectory));
            foreach (var (model, kind) in models.Select(m => (m, (ModelKind?)ModelKind.Chat)).Concat(graderModels.Select(m => (m, (ModelKind?)null))))
            {
                if (await Availability.CheckAsync(model, kind, http.RequestAborted).ConfigureAwait(false) is { } missing)
                {
                    await AdminHttp.BadRequestAsync(http, $"{(graderModels.Contains(model) && !models.Contains(model) ? "Grader model" : "Model")} '{model}' not found: {missing.Message}", "models", "model_not_found").ConfigureAwait(false);
                    return;
                }
            }
        }

        var key = AdminHttp.Text(body, "key") ?? ApiKeyAuthentication.ReadKey(http.Request.Headers).ToString();
        if (KeyAdmitted is not null && !KeyAdmitted(key))
        {
            // Every call would be refused, and the run would "complete" with every cell failed.
            await AdminHttp.BadRequestAsync(http, "'key' is not a key the gateway accepts: it is unknown, revoked or expired.", "key", "invalid_api_key").ConfigureAwait(false);
            return;
        }
        runId ??= $"{Slug(suite.Name)}-{engine.Time.GetUtcNow():yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        var job = jobs.Start(new CompareJobRequest(suite, models, baseline, runId, SelfAddress(http), key)
        {
            Concurrency = concurrency,
            Stream = body["stream"] is not JsonValue s || !s.TryGetValue<bool>(out var stream) || stream,
            Seed = AdminHttp.Int(body, "seed") ?? ReportBuilder.DefaultSeed,
            Margin = margin,
            Samples = samples,
            MaxCost = maxCost is { } cap ? (decimal)cap : null,
            LogCostAxis = body["log_cost"] is JsonValue lc && lc.TryGetValue<bool>(out var log) && log,
            SuiteDirectory = suiteDirectory,
            DecorateRunner = decorate,
        });
        if (job is null)
        {
            await AdminHttp.BadRequestAsync(http, $"Run '{runId}' is already running.", "run_id", "run_in_progress").ConfigureAwait(false);
            return;
        }
        http.Response.Headers.Location = HeaderValues.Safe($"{Route}/{runId}");
        await AdminHttp.WriteJsonAsync(http, Status(job), StatusCodes.Status202Accepted).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext http, string id)
    {
        if (jobs.Find(id) is { } job)
        {
            await AdminHttp.WriteJsonAsync(http, Status(job)).ConfigureAwait(false);
            return;
        }
        if (jobs.StoredReport(id) is { } report)
        {
            await AdminHttp.WriteJsonAsync(http, new JsonObject
            {
                ["id"] = id,
                ["object"] = "compare.run",
                ["status"] = RunRecord.Completed,
                ["report"] = JsonNode.Parse(JsonReport.Render(report)),
            }).ConfigureAwait(false);
            return;
        }
        await AdminHttp.NotFoundAsync(http, $"No comparison run '{id}'.", "run_not_found").ConfigureAwait(false);
    }

    public async Task ReportHtmlAsync(HttpContext http, string id)
    {
        var report = jobs.Find(id) is { } job ? job.Report : jobs.StoredReport(id);
        if (report is null)
        {
            await AdminHttp.NotFoundAsync(http, jobs.Find(id) is { } j ? $"Run '{id}' is {j.Status}; the report exists once it has completed." : $"No comparison run '{id}'.",
                jobs.Find(id) is null ? "run_not_found" : "report_not_ready").ConfigureAwait(false);
            return;
        }
        http.Response.ContentType = "text/html; charset=utf-8";
        await http.Response.WriteAsync(HtmlReport.Render(report), http.RequestAborted).ConfigureAwait(false);
    }

    private static JsonObject Status(CompareJob job) => new()
    {
        ["id"] = job.Id,
        ["object"] = "compare.run",
        ["status"] = job.Status,
        ["suite"] = job.Request.Suite.Name,
        ["models"] = new JsonArray([.. job.Request.Models.Select(m => (JsonNode)m)]),
        ["baseline"] = job.Request.Baseline,
        ["created_at"] = job.CreatedAt.ToUnixTimeSeconds(),
        ["progress"] = new JsonObject { ["done"] = job.Done, ["total"] = job.Total, ["failed_calls"] = job.FailedCalls },
        ["error"] = job.Error,
        ["report"] = job.Report is { } r ? JsonNode.Parse(JsonReport.Render(r)) : null,
    };

    /// <summary>The gateway's own address: the first one Kestrel bound, with a wildcard host made loopback.</summary>
    private static Uri SelfAddress(HttpContext http)
    {
        var address = http.RequestServices.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? $"{http.Request.Scheme}://{http.Request.Host}";
        var uri = new UriBuilder(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0") uri.Host = "127.0.0.1";
        if (uri.Host is "[::]" or "::") uri.Host = "[::1]";
        uri.Path = "/";
        return uri.Uri;
    }

    /// <summary>
    /// The first run setting of the wrong JSON type, or null (null values are the defaults): a run must not start on a
    /// default the caller did not ask for, as <c>"concurrency": "8"</c> or <c>"stream": "no"</c> once did.
    /// </summary>
    private static (string Message, string Field)? TypeError(JsonObject body)
    {
        foreach (var (field, kind) in new[]
        {
            ("baseline", "a string"), ("run_id", "a string"), ("key", "a string"),
            ("concurrency", "a whole number"), ("samples", "a whole number"), ("seed", "a whole number"),
            ("margin", "a number"), ("max_cost", "a number"), ("stream", "true or false"), ("log_cost", "true or false"),
        })
        {
            if (body[field] is not { } node) continue;
            var ok = node is JsonValue v && kind switch
            {
                "a string" => v.TryGetValue<string>(out _),
                "a whole number" => v.TryGetValue<int>(out _),
                "a number" => v.TryGetValue<double>(out var d) && double.IsFinite(d),
                _ => v.TryGetValue<bool>(out _),
            };
            if (!ok) return ($"'{field}' must be {kind}.", field);
        }
        return null;
    }

    private static double? Number(JsonObject body, string field) =>
        body[field] is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : null;

    private static string Slug(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray();
        var slug = new string(chars).Trim('-', '.');
        return slug.Length == 0 ? "run" : slug.Length > 60 ? slug[..60] : slug;
    }
}

/// <summary>Another way to make a suite for <c>POST /admin/compare</c>, named by its own body field (e.g. <c>replay</c>).</summary>
public interface ISuiteSource
{
    string Field { get; }

    /// <exception cref="SuiteFormatException">The source's settings are wrong; the message names the field.</exception>
    Task<EvalSuite> BuildAsync(JsonNode? settings, CancellationToken cancellationToken);
}
