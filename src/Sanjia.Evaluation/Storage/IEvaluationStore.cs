using Sanjia.Evaluation.Running;

namespace Sanjia.Evaluation.Storage;

/// <summary>Where comparison runs and their per-(run, case, model, sample) results are kept, so a run can be resumed.</summary>
public interface IEvaluationStore
{
    Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Every run, oldest first (by creation time, then id).</summary>
    Task<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the run row (models and status change when a run is resumed).</summary>
    Task SaveRunAsync(RunRecord run, CancellationToken cancellationToken);

    Task<IReadOnlyList<CellResult>> GetResultsAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the result of one (run, case, model, sample) cell.</summary>
    Task SaveResultAsync(string runId, CellResult result, CancellationToken cancellationToken);
}
