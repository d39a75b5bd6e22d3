using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sanjia.Evaluation.Graders;
using Sanjia.Evaluation.Reports;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Storage;
using Sanjia.Evaluation.Suites;
using Sanjia.Abstractions;

namespace Sanjia.Api.Compare;

/// <summary>What to start: the suite, the models, and how the runner reaches them.</summary>
public sealed record CompareJobRequest(EvalSuite Suite, IReadOnlyList<string> Models, string Baseline, string RunId, Uri GatewayUrl, string ApiKey)
{
    public int Concurrency { get; init; } = 4;
    public bool Stream { get; init; } = true;
    public int Seed { get; init; } = ReportBuilder.DefaultSeed;

    /// <summary>Non-inferiority margin in quality points.</summary>
    public double Margin { get; init; } = ReportBuilder.DefaultMargin;

    /// <summary>Calls per case and model.</summary>
    public int Samples { get; init; } = 1;

    /// <summary>Stop starting calls once the run's cells cost this much (the gateway's currency); null for no cap.</summary>
    public decimal? MaxCost { get; init; }
    public bool LogCostAxis { get; init; }
    public string? SuiteDirectory { get; init; }

    /// <summary>Wraps the HTTP runner (e.g. per-model prompt variants); identity by default.</summary>
    public Func<IModelRunner, IModelRunner> DecorateRunner { get; init; } = r => r;
}

/// <summary>A comparison running (or run) in the gateway: live progress, then the report.</summary>
public sealed class CompareJob(CompareJobRequest request, DateTimeOffset created) : ICompareProgress
{
    private int _done;
    private int _total;
    private int _failed;

    public CompareJobRequest Request { get; } = request;
    public string Id => Request.RunId;
    public DateTimeOffset CreatedAt { get; } = created;
    public volatile string Status = RunRecord.Running;
    public string? Error { get; internal set; }
    public ComparisonReport? Report { get; internal set; }
    public int Done => Volatile.Read(ref _done);
    public int Total => Volatile.Read(ref _total);
    public int FailedCalls => Volatile.Read(ref _failed);
    internal Task Completion { get; set; } = Task.CompletedTask;

    public void Started(int totalCells, int alreadyDone)
    {
        Volatile.Write(ref _total, totalCells);
        Volatile.Write(ref _done, alreadyDone);
    }

    public void CellCompleted(CellResult result, int done, int totalCells)
    {
        if (result.Failed) Interlocked.Increment(ref _failed);
        Volatile.Write(ref _done, done);
    }
}

/// <summary>
/// Runs comparisons in the background, through the gateway's own HTTP endpoint (so routing, the key's budget, cost and
/// latency are the real ones), storing cells in the gateway's evaluation store (<c>&lt;data&gt;/evaluations.db</c> like
/// <c>sanjia compare</c>, or PostgreSQL with <c>Sanjia:Storage:Postgres</c>; the host owns and disposes it) and
/// writing the report files to <c>&lt;data&gt;/compare/&lt;run id&gt;/</c>. Shutdown cancels runs; starting the same
/// run id again resumes it.
/// </summary>
public sealed partial class CompareJobs(string dataDir, IEvaluationStore store, TimeProvider time, ILogger<CompareJobs> logger, EvaluationCallers? evaluation = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, CompareJob> _jobs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public string ReportDirectory(string runId) => Path.Combine(dataDir, "compare", runId);

    public IEvaluationStore Store => store;

    /// <summary>Starts a run; null when a run with that id is already running.</summary>
    public CompareJob? Start(CompareJobRequest request)
    {
        var job = new CompareJob(request, time.GetUtcNow());
        if (_jobs.TryGetValue(request.RunId, out var existing) && existing.Status == RunRecord.Running) return null;
        _jobs[request.RunId] = job;
        job.Completion = Task.Run(() => RunAsync(job));
        return job;
    }

    public CompareJob? Find(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>A finished run's report from its folder (runs of an earlier process, or of <c>sanjia compare</c> with the same data folder).</summary>
    public ComparisonReport? StoredReport(string id)
    {
        if (id.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || id.Contains("..", StringComparison.Ordinal)) return null;
        var path = Path.Combine(ReportDirectory(id), "report.json");
        return File.Exists(path) ? JsonReport.Parse(File.ReadAllText(path)) : null;
    }

    private async Task RunAsync(CompareJob job)
    {
        var r = job.Request;
        try
        {
            using var http = new HttpClient { BaseAddress = r.GatewayUrl, Timeout = TimeSpan.FromMinutes(15) };
            // Marked as the gateway's own evaluation traffic: isolated from production health (breakers), budgets still apply.
            var headers = evaluation is null ? null : new Dictionary<string, string> { [EvaluationCallers.Header] = evaluation.Token };
            var runner = r.DecorateRunner(new GatewayModelRunner(http, r.ApiKey, time, r.Stream, headers));
            var compare = new CompareRunner(runner, store, new GraderRegistry(r.SuiteDirectory), time);
            var run = await compare.RunAsync(new CompareSpec(r.Suite, r.Models, r.RunId) { Concurrency = r.Concurrency, Samples = r.Samples, MaxCost = r.MaxCost }, job, _stopping.Token).ConfigureAwait(false);
            var report = ReportBuilder.Build(r.RunId, r.Suite, r.Models, r.Baseline, run.Results,
                new ReportSettings { Seed = r.Seed, Margin = r.Margin, Samples = r.Samples, LogCostAxis = r.LogCostAxis }, time);
            if (run.CostCapReached) report = report with { Warnings = [$"The run stopped at its cost cap ({r.MaxCost} spent: {run.Spent}); {report.MissingCells} cells were not run.", .. report.Warnings] };
            ReportFiles.Write(report, ReportDirectory(r.RunId));
            job.Report = report;
            job.Status = RunRecord.Completed;
            LogCompleted(logger, r.RunId, run.Results.Count);
        }
        catch (OperationCanceledException)
        {
            job.Status = RunRecord.Interrupted;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or SuiteFormatException or IOException)
        {
            job.Error = e.Message;
            job.Status = RunRecord.Failed;
            LogFailed(logger, r.RunId, e.Message);
        }
    }

    /// <summary>
    /// Stops every run (called when the host starts stopping, before Kestrel closes: a run calling its own gateway
    /// must end as interrupted, not record the closing gateway's refusals as failed cells).
    /// </summary>
    public void Cancel() => _stopping.Cancel();

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            Task.WaitAll([.. _jobs.Values.Select(j => j.Completion)], TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // Runs end as interrupted; their cells are stored and a rerun with the same id resumes them.
        }
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = LogEvents.CompareCompleted, Level = LogLevel.Information, Message = "Comparison {RunId} completed with {Cells} cells")]
    private static partial void LogCompleted(ILogger logger, string runId, int cells);

    [LoggerMessage(EventId = LogEvents.CompareFailed, Level = LogLevel.Warning, Message = "Comparison {RunId} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string runId, string error);
}
