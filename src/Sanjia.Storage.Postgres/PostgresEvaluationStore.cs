using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Sanjia.Evaluation.Running;
using Sanjia.Evaluation.Storage;

namespace Sanjia.Storage.Postgres;

/// <summary>
/// Compare runs and their cells in PostgreSQL (<c>eval_runs</c>, <c>eval_cells</c>, migration 3), in the JSON shape the
/// SQLite store keeps, so every instance sees the runs any of them started and a run resumes on any instance. Cells
/// read back in the order they were first stored (an identity column, kept when a cell is stored again), as SQLite's
/// rowid does.
/// </summary>
public sealed class PostgresEvaluationStore(PostgresDatabase database) : IEvaluationStore
{
    // The SQLite store's options, so a cell is the same JSON in either store (and `sanjia db copy` moves it unchanged).
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const string RunColumns = "run_id, suite_name, suite_fingerprint, models, status, created";

    public async Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand($"SELECT {RunColumns} FROM eval_runs WHERE run_id = $1");
        cmd.Parameters.Add(new() { Value = runId });
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false) ? Run(r) : null;
    }

    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync(CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand($"SELECT {RunColumns} FROM eval_runs ORDER BY created, run_id COLLATE \"C\"");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<RunRecord>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(Run(r));
        return list;
    }

    public async Task SaveRunAsync(RunRecord run, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand($"""
            INSERT INTO eval_runs ({RunColumns}) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (run_id) DO UPDATE SET models = EXCLUDED.models, status = EXCLUDED.status
            """);
        cmd.Parameters.Add(new() { Value = run.RunId });
        cmd.Parameters.Add(new() { Value = run.SuiteName });
        cmd.Parameters.Add(new() { Value = run.SuiteFingerprint });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(run.Models, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new() { Value = run.Status });
        cmd.Parameters.Add(new() { Value = PostgresDatabase.Utc(run.CreatedAt), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<CellResult>> GetResultsAsync(string runId, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("SELECT result FROM eval_cells WHERE run_id = $1 ORDER BY id");
        cmd.Parameters.Add(new() { Value = runId });
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<CellResult>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(JsonSerializer.Deserialize<CellResult>(r.GetString(0), Json)!);
        return list;
    }

    public async Task SaveResultAsync(string runId, CellResult result, CancellationToken cancellationToken)
    {
        await using var cmd = database.DataSource.CreateCommand("""
            INSERT INTO eval_cells (run_id, case_id, model, sample, score, failed, result) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (run_id, case_id, model, sample) DO UPDATE SET score = EXCLUDED.score, failed = EXCLUDED.failed, result = EXCLUDED.result
            """);
        cmd.Parameters.Add(new() { Value = runId });
        cmd.Parameters.Add(new() { Value = result.CaseId });
        cmd.Parameters.Add(new() { Value = result.Model });
        cmd.Parameters.Add(new() { Value = result.Sample });
        cmd.Parameters.Add(new() { Value = result.Score });
        cmd.Parameters.Add(new() { Value = result.Failed });
        cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(result, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
        // Not cancellable once started, as in SQLite: a cell that was paid for should be kept.
        await cmd.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private static RunRecord Run(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2),
        JsonSerializer.Deserialize<List<string>>(r.GetString(3), Json) ?? [], r.GetString(4), r.GetFieldValue<DateTimeOffset>(5));
}
