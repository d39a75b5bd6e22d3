using System.Globalization;
using Sanjia.Evaluation.Graders;
using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Storage;
using Sanjia.Evaluation.Suites;
using Sanjia.Api.Compare;
using Sanjia.Storage.Postgres;
using Sanjia.Storage.Sqlite;
using Spectre.Console;
using static Sanjia.Hosting.CompareServices;

namespace Sanjia.Cli;

/// <summary>What the command touches outside itself, so tests can run it in-process with a scripted runner.</summary>
internal sealed record CompareCommandEnvironment(IAnsiConsole Console, Func<string, string?> GetEnvironmentVariable)
{
    /// <summary>Wraps the HTTP runner, e.g. a test price list; identity by default.</summary>
    public Func<IModelRunner, IModelRunner> DecorateRunner { get; init; } = r => r;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary><c>sanjia compare</c>: run a suite against several models through a gateway and write the report.</summary>
public static class CompareCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;
    public const int Interrupted = 130;

    /// <summary>The run is sound but a <c>--fail-if</c> condition holds (for CI pipelines).</summary>
    public const int ConditionFailed = 3;

    // Within 80 columns, so that no terminal wraps an option (SanjiaCliTests checks every command's help).
    private const string Usage = """
        Usage:
          sanjia compare --suite FILE --models a,b,c [--baseline a] [--key KEY]
                         [--url http://127.0.0.1:4000] [--concurrency 4]
                         [--run-id ID] [--out DIR] [--data data] [--seed N]
                         [--no-stream] [--retry-errors] [--margin 5]
                         [--samples N] [--max-cost X] [--dry-run] [--log-cost]
                         [--fail-if "quality(candidate) < 90"]
          sanjia compare --replay [--alias A] [--since T] [--until T]
                         [--sample N] [--key-id K] --models a,b ...

          Runs every case of the suite against every model through the gateway
          (so routing, budgets, cost and latency are the real ones), grades the
          answers and writes report.md, report.html and report.json. An
          interrupted run is resumed by running the same command with the same
          --run-id.

        Options:
          --suite         Suite file (.yaml, .yml, .json or .jsonl); see
                          docs/compare.md.
          --models        Models or aliases to compare, comma-separated.
          --baseline      The current model the others are compared with
                          (default: the first of --models).
          --url           Gateway address (default: $SANJIA_URL, else
                          http://127.0.0.1:4000).
          --key           API key the calls are charged to (default:
                          $SANJIA_API_KEY).
          --concurrency   Calls in flight at once (default: 4).
          --run-id        Name of the run; reuse it to resume (default: suite
                          name + time).
          --out           Report folder (default: <data>/compare/<run-id>).
          --data          Data folder holding evaluations.db (default: data).
          --postgres      Keep runs (and read --replay's bodies) in this
                          PostgreSQL database, as a gateway with
                          Sanjia:Storage:Postgres does (default:
                          $Sanjia__Storage__Postgres, else the data folder).
          --seed          Seed of the bootstrap (default: fixed, so reports are
                          reproducible).
          --no-stream     Non-streaming calls: no time to first token.
          --retry-errors  On resume, run failed calls again.
          --margin        Non-inferiority margin in quality points (default 5):
                          "switch" only when the 95 % interval's lower bound of
                          the quality difference is above −margin.
          --samples       Calls per case and model (default 1): variance and
                          pass@k, bootstrapped by case.
          --max-cost      Stop starting calls once the run has cost this much
                          (the gateway's currency).
          --dry-run       Check the suite and every model (judge models too),
                          print the cost estimate, make no call.
          --fail-if       Exit 3 when a condition holds, e.g.
                          "quality(candidate) < 90" (repeatable; metrics quality,
                          quality_low, errors, cost, p50, p95; model: a name,
                          baseline or candidate).
          --log-cost      Open the HTML chart with a log-scale cost axis.

        Replay of logged traffic (instead of --suite; needs Sanjia:Logging:Bodies
        and the gateway's --data folder):
          sanjia compare --replay --alias chat --since 2025-01-01
                         --until 2025-01-08 --sample 200 [--key-id K]
                         --models chat,deepseek/deepseek-flash
                         [--judge MODEL --rubric TEXT] [--embedding-model M]
                         [--threshold 0.8]
          The original answers are the references, graded by embedding
          similarity or, with --judge, by a judge model.
        """;

    public static Task<int> RunAsync(string[] args, CancellationToken ct) =>
        RunAsync(args, new CompareCommandEnvironment(AnsiConsole.Console, Environment.GetEnvironmentVariable), ct);

    internal static async Task<int> RunAsync(string[] args, CompareCommandEnvironment env, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        var console = env.Console;
        if (args.Any(a => a is "--help" or "-h" or "help"))
        {
            console.WriteLine(Usage);
            return Ok;
        }
        Options o;
        try
        {
            o = Options.Parse(args, env);
        }
        catch (FormatException e)
        {
            console.MarkupLine($"[red]error:[/] --fail-if {Markup.Escape(e.Message)}");
            return BadUsage;
        }
        catch (ArgumentException e)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            console.WriteLine("Run 'sanjia compare --help' for usage.");
            return BadUsage;
        }

        EvalSuite suite;
        try
        {
            // A replay reads the body log of the gateway's data folder (--data), so it runs where the gateway keeps its data.
            if (o.Replay is { } replay)
            {
                if (o.Postgres is { } pg)
                {
                    await using var database = await PostgresDatabase.OpenAsync(pg, ct).ConfigureAwait(false);
                    suite = await ReplaySuite.BuildAsync(new PostgresBodyLogStore(database), replay, ct).ConfigureAwait(false);
                }
                else
                {
                    using var log = new SqliteBodyLogStore(Path.Combine(o.DataDir, TrafficDatabase));
                    suite = await ReplaySuite.BuildAsync(log, replay, ct).ConfigureAwait(false);
                }
            }
            else
            {
                suite = SuiteLoader.Load(o.Suite!);
            }
        }
        catch (SuiteFormatException e)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return BadUsage;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            console.MarkupLine($"[red]error:[/] the PostgreSQL database of --postgres cannot be used: {Markup.Escape(e.Message)}");
            return Failed;
        }

        var runId = o.RunId ?? $"{Slug(suite.Name)}-{env.TimeProvider.GetUtcNow():yyyyMMdd-HHmmss}";
        using var http = new HttpClient { BaseAddress = new Uri(o.Url.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
        var gateway = new GatewayModelRunner(http, o.Key, env.TimeProvider, o.Stream);
        var graders = new GraderRegistry(o.Suite is null ? null : Path.GetDirectoryName(Path.GetFullPath(o.Suite)));
        IReadOnlyList<string> graderModels;
        try
        {
            graderModels = CompareRunner.GraderModels(suite, graders);
        }
        catch (SuiteFormatException e)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return BadUsage;
        }

        // Every model and every grader's model is checked before the first call: a typo costs no calls.
        var prices = new Dictionary<string, ListPrice?>(StringComparer.Ordinal);
        var unknown = 0;
        foreach (var model in o.Models.Concat(graderModels).Distinct(StringComparer.Ordinal))
        {
            var (found, price, error) = await gateway.DescribeModelAsync(model, ct).ConfigureAwait(false);
            var what = o.Models.Contains(model, StringComparer.Ordinal) ? "model" : "grader model";
            if (found is null)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(error!)}");
                return Failed;
            }
            if (found is false)
            {
                console.MarkupLine($"[red]error:[/] {what} '{Markup.Escape(model)}' not found: {Markup.Escape(error!)}");
                unknown++;
            }
            prices[model] = price;
        }
        if (unknown > 0) return BadUsage;
        var estimate = CostEstimate.For(suite, o.Models, o.Samples, graderModels, m => prices.GetValueOrDefault(m));
        WriteEstimate(console, estimate, suite, o);
        if (o.DryRun)
        {
            console.MarkupLine($"[green]Dry run:[/] the suite ({suite.Cases.Count} cases) and {prices.Count} models are valid; no call was made.");
            return Ok;
        }

        var runner = env.DecorateRunner(gateway);
        EvaluationStoreLease stores;
        try
        {
            stores = await EvaluationStoreFor(o, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            console.MarkupLine($"[red]error:[/] the PostgreSQL database of --postgres cannot be used: {Markup.Escape(e.Message)}");
            return Failed;
        }
        await using var _ = stores;
        var store = stores.Store;
        var compare = new CompareRunner(runner, store, graders, env.TimeProvider);
        var spec = new CompareSpec(suite, o.Models, runId) { Concurrency = o.Concurrency, RetryErrors = o.RetryErrors, Samples = o.Samples, MaxCost = o.MaxCost };

        console.MarkupLine($"Comparing [bold]{Markup.Escape(string.Join(", ", o.Models))}[/] on [bold]{Markup.Escape(suite.Name)}[/] ({suite.Cases.Count} cases{(o.Samples > 1 ? $" × {o.Samples} samples" : "")}) via {Markup.Escape(o.Url)}, run [bold]{Markup.Escape(runId)}[/]");
        CompareRun run;
        try
        {
            run = await RunWithProgressAsync(console, compare, spec, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            console.MarkupLine($"[yellow]Interrupted.[/] Finished cells are saved; resume with --run-id {Markup.Escape(runId)}.");
            return Interrupted;
        }
        catch (Exception e) when (e is SuiteFormatException or InvalidOperationException or ArgumentException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return e is InvalidOperationException ? Failed : BadUsage;
        }

        var report = ReportBuilder.Build(runId, suite, o.Models, o.Baseline, run.Results,
            new ReportSettings { Seed = o.Seed, Margin = o.Margin, Samples = o.Samples, LogCostAxis = o.LogCost }, env.TimeProvider);
        if (run.CostCapReached)
        {
            report = report with { Warnings = [$"The run stopped at its cost cap (--max-cost {o.MaxCost?.ToString(CultureInfo.InvariantCulture)}; {run.Spent.ToString(CultureInfo.InvariantCulture)} spent); {report.MissingCells} cells were not run. Resume with the same --run-id and a higher cap.", .. report.Warnings] };
        }
        WriteTable(console, report);
        foreach (var w in report.Warnings) console.MarkupLine($"[red]ERROR:[/] {Markup.Escape(w)}");
        var outDir = o.OutDir ?? Path.Combine(o.DataDir, "compare", Slug(runId));
        var files = ReportFiles.Write(report, outDir);
        console.MarkupLine($"[bold]Recommendation:[/] {Markup.Escape(report.Recommendation.Text)}");
        foreach (var f in files) console.MarkupLine($"Wrote [link]{Markup.Escape(f)}[/]");
        var allFailed = report.Models.All(m => m.ErrorRate >= 1 || m.NotMeasured == m.Calls);
        if (allFailed)
        {
            var first = run.Results.FirstOrDefault(r => r.Failed);
            console.MarkupLine($"[red]Every call failed[/]{(first is null ? "" : ": " + Markup.Escape(first.Error!))}");
        }
        // A model that was not measured (budget spent, grader failed) or a capped run is not a result to act on.
        if (allFailed || run.CostCapReached || report.Models.Any(m => m.Problem is not null)) return Failed;
        var hits = o.FailIf.SelectMany(c => c.Check(report)).ToList();
        foreach (var h in hits) console.MarkupLine($"[red]--fail-if:[/] {Markup.Escape(h)}");
        return hits.Count > 0 ? ConditionFailed : Ok;
    }

    private static void WriteEstimate(IAnsiConsole console, CostEstimate estimate, EvalSuite suite, Options o)
    {
        var inv = CultureInfo.InvariantCulture;
        var cells = suite.Cases.Count * o.Samples * o.Models.Count;
        var total = estimate.Total is { } t ? $"{Format.Money(t, estimate.Currency)}" : estimate.Models.Count == 0 ? "unknown" : "mixed currencies";
        console.MarkupLine($"Estimate: {cells} calls, up to [bold]{Markup.Escape(total)}[/] ({Markup.Escape(string.Join(", ", estimate.Models.Select(m => $"{m.Model} {Format.Money(m.Cost, m.Currency)}")))})"
            + (estimate.Unpriced.Count > 0 ? $"; unpriced: {Markup.Escape(string.Join(", ", estimate.Unpriced))}" : ""));
        if (o.MaxCost is { } cap && estimate.Total is { } est && est > cap)
        {
            console.MarkupLine($"[yellow]The estimate is above --max-cost {cap.ToString(inv)}: the run will stop when the cap is reached.[/]");
        }
    }

    private static async Task<CompareRun> RunWithProgressAsync(IAnsiConsole console, CompareRunner compare, CompareSpec spec, CancellationToken ct)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return await compare.RunAsync(spec, new LineProgress(console), ct).ConfigureAwait(false);
        }
        CompareRun? result = null;
        await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("cells");
                result = await compare.RunAsync(spec, new BarProgress(task), ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return result!;
    }

    /// <summary>
    /// The terminal table, readable at 80 columns: quality with its interval, cost per 1,000 requests, p50 latency,
    /// errors, the front, and the difference with the baseline (interval, verdict by colour). The rest is in the files.
    /// </summary>
    internal static void WriteTable(IAnsiConsole console, ComparisonReport r)
    {
        var table = new Table().Border(TableBorder.Simple).Title($"{Markup.Escape(r.Suite)}: {r.Cases} cases, baseline {Markup.Escape(r.Baseline)}, margin {ReportBuilder.Points(r.Margin)}");
        table.AddColumn("Model");
        table.AddColumn(new TableColumn("Quality (95 % CI)").RightAligned());
        table.AddColumn(new TableColumn("Per 1k").RightAligned());
        table.AddColumn(new TableColumn("p50").RightAligned());
        table.AddColumn(new TableColumn("Err").RightAligned());
        table.AddColumn(new TableColumn("Δ vs baseline").RightAligned());
        foreach (var m in r.Models)
        {
            var c = r.Comparisons.FirstOrDefault(x => x.Candidate == m.Model);
            var verdict = c is null ? "baseline" : c.Verdict switch
            {
                Verdict.SignificantlyBetter => $"[green]{Markup.Escape(Format.Difference(c))}[/]",
                Verdict.SignificantlyWorse => $"[red]{Markup.Escape(Format.Difference(c))}[/]",
                _ => Markup.Escape(Format.Difference(c)),
            };
            table.AddRow(Markup.Escape(m.Model) + (m.OnParetoFront ? " ★" : "") + (m.Problem is null ? "" : " [red]⚠[/]"),
                $"{Format.Quality(m)} ({Format.Interval(m.QualityInterval)})",
                Markup.Escape(Format.Money(m.CostPer1000Requests, null)),
                Format.Ms(m.LatencyP50Ms), Format.Percent(m.ErrorRate), verdict);
        }
        console.Write(table);
        var currency = r.Models.Select(m => m.Currency).FirstOrDefault(c => c is not null);
        console.MarkupLine(Markup.Escape($"★ Pareto front; per 1k = cost per 1,000 requests{(currency is null ? "" : " in " + currency)}; Err = failed cases after the gateway's retries."));
        if (r.MissingCells > 0) console.MarkupLine($"[yellow]{r.MissingCells} cells have no result.[/]");
    }

    private static string Slug(string s) => new([.. s.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '-')]);

    /// <summary>The store runs are kept in: the data folder's <c>evaluations.db</c>, or the gateway's PostgreSQL database.</summary>
    private static async Task<EvaluationStoreLease> EvaluationStoreFor(Options o, CancellationToken ct)
    {
        if (o.Postgres is null)
        {
            var sqlite = new SqliteEvaluationStore(Path.Combine(o.DataDir, SqliteEvaluationStore.DefaultFileName));
            return new EvaluationStoreLease(sqlite, () => { sqlite.Dispose(); return ValueTask.CompletedTask; });
        }
        var database = await PostgresDatabase.OpenAsync(o.Postgres, ct).ConfigureAwait(false);
        return new EvaluationStoreLease(new PostgresEvaluationStore(database), database.DisposeAsync);
    }

    private sealed record EvaluationStoreLease(IEvaluationStore Store, Func<ValueTask> Close) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Close();
    }

    private sealed record Options(string? Suite, IReadOnlyList<string> Models, string Baseline, string Url, string Key, int Concurrency,
        string? RunId, string? OutDir, string DataDir, int Seed, bool Stream, bool RetryErrors)
    {
        public double Margin { get; init; } = ReportBuilder.DefaultMargin;
        public int Samples { get; init; } = 1;
        public decimal? MaxCost { get; init; }
        public bool DryRun { get; init; }
        public bool LogCost { get; init; }
        public IReadOnlyList<FailCondition> FailIf { get; init; } = [];

        /// <summary>The PostgreSQL connection string of <c>--postgres</c> (or <c>Sanjia__Storage__Postgres</c>); null for the data folder's SQLite files.</summary>
        public string? Postgres { get; init; }

        /// <summary>Set with <c>--replay</c>: the suite comes from logged traffic instead of a file.</summary>
        public ReplaySettings? Replay { get; init; }

        public static Options Parse(string[] args, CompareCommandEnvironment env)
        {
            string? suite = null, models = null, baseline = null, url = null, key = null, runId = null, outDir = null, data = null, postgres = null;
            int concurrency = 4, seed = ReportBuilder.DefaultSeed;
            bool stream = true, retry = false, replay = false;
            string? alias = null, since = null, until = null, keyId = null, judge = null, rubric = null, embeddingModel = null;
            int sample = 100, samples = 1;
            double threshold = 0.8, margin = ReportBuilder.DefaultMargin;
            decimal? maxCost = null;
            bool dryRun = false, logCost = false;
            var failIf = new List<FailCondition>();
            for (var i = 0; i < args.Length; i++)
            {
                var a = args[i];
                string Next() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : throw new ArgumentException($"'{a}' needs a value.");
                switch (a)
                {
                    case "--suite": suite = Next(); break;
                    case "--models": models = Next(); break;
                    case "--baseline": baseline = Next(); break;
                    case "--url": url = Next(); break;
                    case "--key": key = Next(); break;
                    case "--run-id": runId = Next(); break;
                    case "--out": outDir = Next(); break;
                    case "--data": data = Next(); break;
                    case "--postgres": postgres = Next(); break;
                    case "--concurrency": concurrency = Int(Next(), a, 1, 256); break;
                    case "--seed": seed = Int(Next(), a, int.MinValue, int.MaxValue); break;
                    case "--no-stream": stream = false; break;
                    case "--retry-errors": retry = true; break;
                    case "--replay": replay = true; break;
                    case "--alias": alias = Next(); break;
                    case "--since": since = Next(); break;
                    case "--until": until = Next(); break;
                    case "--sample": sample = Int(Next(), a, 1, 100_000); break;
                    case "--key-id": keyId = Next(); break;
                    case "--judge": judge = Next(); break;
                    case "--rubric": rubric = Next(); break;
                    case "--embedding-model": embeddingModel = Next(); break;
                    case "--samples": samples = Int(Next(), a, 1, 100); break;
                    case "--margin":
                        margin = double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out var mg) && mg is > 0 and <= 100 ? mg : throw new ArgumentException("--margin must be a number of quality points above 0 and at most 100.");
                        break;
                    case "--max-cost":
                        maxCost = decimal.TryParse(Next(), NumberStyles.Number, CultureInfo.InvariantCulture, out var mc) && mc > 0 ? mc : throw new ArgumentException("--max-cost must be an amount above 0.");
                        break;
                    case "--dry-run": dryRun = true; break;
                    case "--log-cost": logCost = true; break;
                    case "--fail-if": failIf.Add(FailCondition.Parse(Next())); break;
                    case "--threshold":
                        threshold = double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t is >= 0 and <= 1 ? t : throw new ArgumentException("--threshold must be between 0 and 1.");
                        break;
                    default: throw new ArgumentException($"unknown option '{a}'.");
                }
            }
            if (suite is null == !replay) throw new ArgumentException(replay ? "--suite and --replay exclude each other." : "--suite (or --replay) is required.");
            if (!replay && (alias ?? since ?? until ?? keyId ?? judge ?? rubric ?? embeddingModel) is not null) throw new ArgumentException("--alias, --since, --until, --key-id, --judge, --rubric and --embedding-model go with --replay.");
            ReplaySettings? replaySettings = null;
            if (replay)
            {
                try
                {
                    replaySettings = new ReplaySettings
                    {
                        Alias = alias,
                        KeyId = keyId,
                        Since = ReplaySettings.Time(since, "--since"),
                        Until = ReplaySettings.Time(until, "--until"),
                        Sample = sample,
                        Seed = seed,
                        EmbeddingModel = embeddingModel ?? "local/all-minilm-l6-v2",
                        Threshold = threshold,
                        JudgeModel = judge,
                        Rubric = rubric,
                    };
                }
                catch (SuiteFormatException e)
                {
                    throw new ArgumentException(e.Message);
                }
            }
            var list = (models ?? throw new ArgumentException("--models is required (e.g. --models openai/gpt-5-mini,deepseek/deepseek-flash)."))
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (list.Length == 0) throw new ArgumentException("--models lists no model.");
            if (list.Distinct(StringComparer.Ordinal).Count() != list.Length) throw new ArgumentException("--models lists a model twice.");
            baseline ??= list[0];
            if (!list.Contains(baseline, StringComparer.Ordinal)) throw new ArgumentException($"--baseline '{baseline}' is not in --models.");
            url ??= env.GetEnvironmentVariable("SANJIA_URL") ?? "http://127.0.0.1:4000";
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")) throw new ArgumentException($"--url '{url}' is not an http(s) address.");
            key ??= env.GetEnvironmentVariable("SANJIA_API_KEY");
            if (string.IsNullOrWhiteSpace(key)) throw new ArgumentException("no API key: pass --key or set SANJIA_API_KEY.");
            if (failIf.FirstOrDefault(c => !c.NamesAModelOf(list)) is { } stray) throw new ArgumentException($"--fail-if '{stray.Text}' names '{stray.Model}', which is not in --models (use a model, baseline or candidate).");
            return new Options(suite, list, baseline, url, key, concurrency, runId, outDir, data ?? "data", seed, stream, retry)
            {
                Replay = replaySettings,
                Postgres = string.IsNullOrWhiteSpace(postgres ??= env.GetEnvironmentVariable("Sanjia__Storage__Postgres")) ? null : postgres,
                Margin = margin,
                Samples = samples,
                MaxCost = maxCost,
                DryRun = dryRun,
                LogCost = logCost,
                FailIf = failIf,
            };
        }

        private static int Int(string text, string option, int min, int max) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                ? v : throw new ArgumentException($"{option} must be a whole number between {min} and {max}.");
    }

    private sealed class BarProgress(ProgressTask task) : ICompareProgress
    {
        private int _errors;

        public void Started(int totalCells, int alreadyDone)
        {
            task.MaxValue = Math.Max(totalCells, 1);
            task.Value = alreadyDone;
            task.Description = alreadyDone > 0 ? $"cells (resumed at {alreadyDone})" : "cells";
        }

        public void CellCompleted(CellResult result, int done, int totalCells)
        {
            if (result.Failed) Interlocked.Increment(ref _errors);
            task.Value = done;
            var errors = Volatile.Read(ref _errors);
            task.Description = errors > 0 ? $"cells [red]({errors} failed)[/]" : "cells";
        }
    }

    /// <summary>Redirected output: a line at start and at each tenth of the way, not a redrawn bar.</summary>
    private sealed class LineProgress(IAnsiConsole console) : ICompareProgress
    {
        private int _lastTenth = -1;

        public void Started(int totalCells, int alreadyDone) =>
            console.WriteLine(alreadyDone > 0 ? $"{alreadyDone}/{totalCells} cells already done; running the rest" : $"{totalCells} cells to run");

        public void CellCompleted(CellResult result, int done, int totalCells)
        {
            var tenth = done * 10 / Math.Max(totalCells, 1);
            if (Interlocked.Exchange(ref _lastTenth, tenth) != tenth) console.WriteLine($"{done}/{totalCells} cells");
        }
    }
}
