using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sanjia.Evaluation.Running;

namespace Sanjia.Evaluation.Storage;

/// <summary>
/// Runs and results in a SQLite file in the data folder (<c>evaluations.db</c> by default), apart from the ledger
/// so the evaluator can run on a machine that only reaches the gateway over HTTP. One result row per cell (run, case,
/// model, sample), written as soon as the cell is graded: an interrupted run loses at most the cells in flight.
/// </summary>
public sealed class SqliteEvaluationStore : IEvaluationStore, IDisposable
{
    public const string DefaultFileName = "evaluations.db";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _connectionString;
    private SqliteConnection? _connection;

    public SqliteEvaluationStore(string databasePath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString();
    }

    public async Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            cmd.CommandText = "SELECT suite_name, suite_fingerprint, models, status, created FROM eval_runs WHERE run_id = $id";
            cmd.Parameters.AddWithValue("$id", runId);
            using var r = cmd.ExecuteReader();
            if (!r.Read()) return null;
            return new RunRecord(runId, r.GetString(0), r.GetString(1), JsonSerializer.Deserialize<List<string>>(r.GetString(2), Json) ?? [],
                r.GetString(3), DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            // "O" text of UTC times sorts as the times do.
            cmd.CommandText = "SELECT run_id, suite_name, suite_fingerprint, models, status, created FROM eval_runs ORDER BY created, run_id";
            using var r = cmd.ExecuteReader();
            var list = new List<RunRecord>();
            while (r.Read())
            {
                list.Add(new RunRecord(r.GetString(0), r.GetString(1), r.GetString(2), JsonSerializer.Deserialize<List<string>>(r.GetString(3), Json) ?? [],
                    r.GetString(4), DateTimeOffset.Parse(r.GetString(5), CultureInfo.InvariantCulture)));
            }
            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SaveRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            cmd.CommandText = """
                INSERT INTO eval_runs (run_id, suite_name, suite_fingerprint, models, status, created)
                VALUES ($id, $name, $fp, $models, $status, $created)
                ON CONFLICT(run_id) DO UPDATE SET models = excluded.models, status = excluded.status
                """;
            cmd.Parameters.AddWithValue("$id", run.RunId);
            cmd.Parameters.AddWithValue("$name", run.SuiteName);
            cmd.Parameters.AddWithValue("$fp", run.SuiteFingerprint);
            cmd.Parameters.AddWithValue("$models", JsonSerializer.Serialize(run.Models, Json));
            cmd.Parameters.AddWithValue("$status", run.Status);
            cmd.Parameters.AddWithValue("$created", run.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            cmd.ExecuteNonQuery();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<CellResult>> GetResultsAsync(string runId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            cmd.CommandText = "SELECT result FROM eval_cells WHERE run_id = $id ORDER BY rowid";
            cmd.Parameters.AddWithValue("$id", runId);
            using var r = cmd.ExecuteReader();
            var list = new List<CellResult>();
            while (r.Read()) list.Add(JsonSerializer.Deserialize<CellResult>(r.GetString(0), Json)!);
            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SaveResultAsync(string runId, CellResult result, CancellationToken cancellationToken)
    {
        // Not cancellable once started: a cell that was paid for should be kept.
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            using var cmd = Open().CreateCommand();
            cmd.CommandText = """
                INSERT INTO eval_cells (run_id, case_id, model, sample, score, failed, result)
                VALUES ($run, $case, $model, $sample, $score, $failed, $result)
                ON CONFLICT(run_id, case_id, model, sample) DO UPDATE SET score = excluded.score, failed = excluded.failed, result = excluded.result
                """;
            cmd.Parameters.AddWithValue("$run", runId);
            cmd.Parameters.AddWithValue("$case", result.CaseId);
            cmd.Parameters.AddWithValue("$model", result.Model);
            cmd.Parameters.AddWithValue("$sample", result.Sample);
            cmd.Parameters.AddWithValue("$score", result.Score);
            cmd.Parameters.AddWithValue("$failed", result.Failed ? 1 : 0);
            cmd.Parameters.AddWithValue("$result", JsonSerializer.Serialize(result, Json));
            cmd.ExecuteNonQuery();
        }
        finally
        {
            _gate.Release();
        }
    }

    private SqliteConnection Open()
    {
        if (_connection is not null) return _connection;
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS eval_runs (
                run_id TEXT PRIMARY KEY,
                suite_name TEXT NOT NULL,
                suite_fingerprint TEXT NOT NULL,
                models TEXT NOT NULL,
                status TEXT NOT NULL,
                created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS eval_cells (
                run_id TEXT NOT NULL,
                case_id TEXT NOT NULL,
                model TEXT NOT NULL,
                sample INTEGER NOT NULL,
                score REAL NOT NULL,
                failed INTEGER NOT NULL,
                result TEXT NOT NULL,
                PRIMARY KEY (run_id, case_id, model, sample));
            """;
        cmd.ExecuteNonQuery();
        // A database of an older version keyed cells without a sample: move its rows over as sample 0.
        cmd.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'eval_results'";
        if (cmd.ExecuteScalar() is not null)
        {
            cmd.CommandText = """
                BEGIN;
                INSERT OR IGNORE INTO eval_cells (run_id, case_id, model, sample, score, failed, result)
                    SELECT run_id, case_id, model, 0, score, failed, result FROM eval_results ORDER BY rowid;
                DROP TABLE eval_results;
                COMMIT;
                """;
            cmd.ExecuteNonQuery();
        }
        _connection = c;
        return c;
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _gate.Dispose();
    }
}
