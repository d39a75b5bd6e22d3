using Sanjia.Core.Configuration;
using Sanjia.Core.Traffic;
using Sanjia.Evaluation.Storage;
using Sanjia.Hosting;
using Sanjia.Storage.Postgres;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Cli;

/// <summary>
/// <c>sanjia db copy [--data DIR] --to CONNECTION</c>: moves a data folder's SQLite stores into PostgreSQL (migrating
/// its schema first): the ledger a page at a time, keys, teams, prompts with their versions, shadow pairs, logged
/// bodies and compare runs with their cells. Safe to run again: ledger rows are kept once per (request, attempt,
/// endpoint), keys, teams, bodies, runs and cells are replaced by id, prompts already there are left as they are, and shadow pairs are copied only into an empty table.
/// The SQLite files are only read (an older file is first migrated, as the gateway would). Run it with the gateway stopped, so no row arrives after the copy.
/// </summary>
internal static class DbCommand
{
    // Within 80 columns (see SanjiaCli).
    private const string Usage = """
        Usage: sanjia db copy [--data DIR] --to CONNECTION

        Copies the SQLite stores of a data folder (ledger, keys, teams, prompts,
        shadow pairs, logged bodies, compare runs) into the PostgreSQL database
        CONNECTION
        (Npgsql format: "Host=db;Database=sanjia;Username=sanjia;Password=..."),
        creating its tables first. Stop the gateway first; then start it with
        --Sanjia:Storage:Postgres=CONNECTION. Running it again copies nothing
        twice. The SQLite files are only read.

        Options:
          --data DIR       The gateway's data folder (default: data).
          --to CONNECTION  The PostgreSQL connection string.
          -h, --help       Show this help.
        """;

    private static readonly string[] Options = ["--data", "--to", "--help"];

    /// <summary>Ledger rows per COPY batch: large enough to amortise the round trip, small enough to hold in memory.</summary>
    internal const int LedgerPage = 5000;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (args.Any(a => a is "--help" or "-h" or "help"))
        {
            output.Write(Usage);
            return SanjiaCli.Ok;
        }
        if (args.Length == 0 || args[0] != "copy")
        {
            error.WriteLine(args.Length == 0
                ? "sanjia db: missing subcommand 'copy'."
                : $"sanjia db: unknown subcommand '{args[0]}'.{(Spelling.Closest(args[0], ["copy"]) is { } s ? $" Did you mean '{s}'?" : "")}");
            error.WriteLine("Usage: sanjia db copy [--data DIR] --to CONNECTION");
            return SanjiaCli.BadUsage;
        }
        string data = "data";
        string? to = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data" when i + 1 < args.Length: data = args[++i]; break;
                case "--to" when i + 1 < args.Length: to = args[++i]; break;
                case "--data" or "--to":
                    error.WriteLine($"sanjia db: '{args[i]}' needs a value.");
                    return SanjiaCli.BadUsage;
                case var a when a.StartsWith('-'):
                    error.WriteLine($"sanjia db: unknown option '{a}'.{(Spelling.Closest(a, Options) is { } o ? $" Did you mean '{o}'?" : "")}");
                    return SanjiaCli.BadUsage;
                default:
                    error.WriteLine($"sanjia db: unexpected argument '{args[i]}'.");
                    return SanjiaCli.BadUsage;
            }
        }
        if (string.IsNullOrWhiteSpace(to))
        {
            error.WriteLine("sanjia db copy: missing --to CONNECTION (the PostgreSQL connection string).");
            return SanjiaCli.BadUsage;
        }
        if (!Directory.Exists(data))
        {
            error.WriteLine($"The data folder '{data}' does not exist.");
            return SanjiaCli.Failed;
        }
        try
        {
            await using var database = await PostgresDatabase.OpenAsync(to, ct).ConfigureAwait(false);
            await CopyAsync(data, database, output, ct).ConfigureAwait(false);
            return SanjiaCli.Ok;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"sanjia db copy: {ex.Message}");
            return SanjiaCli.Failed;
        }
    }

    private static async Task CopyAsync(string data, PostgresDatabase database, TextWriter output, CancellationToken ct)
    {
        // Only files that exist: opening a SQLite store would create an empty one in the operator's data folder.
        var main = Path.Combine(data, StorageSetup.LedgerDatabase);
        if (File.Exists(main))
        {
            using (var source = new SqliteLedgerStore(main))
            {
                var target = new PostgresLedgerStore(database);
                long after = 0, rows = 0;
                while (true)
                {
                    var (page, last) = await source.ReadPageAsync(after, LedgerPage, ct).ConfigureAwait(false);
                    if (page.Count == 0) break;
                    await target.AppendAsync(page, ct).ConfigureAwait(false);
                    rows += page.Count;
                    after = last;
                }
                output.WriteLine($"ledger: {rows} rows read; the database now holds {await CountAsync(database, "ledger", ct).ConfigureAwait(false)}");
            }
            using (var source = new SqliteKeyStore(main))
            {
                var target = new PostgresKeyStore(database);
                var teams = await source.ListTeamsAsync(ct).ConfigureAwait(false);
                foreach (var t in teams) await target.UpsertTeamAsync(t, ct).ConfigureAwait(false);
                var keys = await source.ListKeysAsync(ct).ConfigureAwait(false);
                foreach (var k in keys) await target.UpsertKeyAsync(k, ct).ConfigureAwait(false);
                output.WriteLine($"keys: {keys.Count}, teams: {teams.Count}");
            }
        }
        var promptsFile = Path.Combine(data, CompareServices.PromptsDatabase);
        if (File.Exists(promptsFile))
        {
            using var source = new SqlitePromptStore(promptsFile);
            var target = new PostgresPromptStore(database);
            int copied = 0, present = 0;
            foreach (var p in await source.ListAsync(ct).ConfigureAwait(false))
            {
                if (!await target.CreateAsync(p.Id, p.Description, p.Versions[0], ct).ConfigureAwait(false))
                {
                    present++; // already there (an earlier copy, or made on PostgreSQL since): left as it is
                    continue;
                }
                foreach (var v in p.Versions.Skip(1)) await target.AddVersionAsync(p.Id, v, ct).ConfigureAwait(false);
                copied++;
            }
            output.WriteLine($"prompts: {copied} copied, {present} already there");
        }
        var trafficFile = Path.Combine(data, CompareServices.TrafficDatabase);
        if (File.Exists(trafficFile))
        {
            using (var source = new SqliteShadowStore(trafficFile))
            {
                var pairs = await source.ReadAllAsync(ct).ConfigureAwait(false);
                // Pairs have no natural key to copy once by; an empty table is the only safe target.
                if (await CountAsync(database, "shadow_pairs", ct).ConfigureAwait(false) > 0)
                {
                    output.WriteLine($"shadow pairs: the database has some already; {pairs.Count} not copied again");
                }
                else
                {
                    var target = new PostgresShadowStore(database);
                    foreach (var pair in pairs) await target.SaveAsync(pair, ct).ConfigureAwait(false);
                    output.WriteLine($"shadow pairs: {pairs.Count}");
                }
            }
            using (var source = new SqliteBodyLogStore(trafficFile))
            {
                var bodies = await source.ReadAsync(new BodyLogQuery(null, null, null, null, int.MaxValue), ct).ConfigureAwait(false);
                var target = new PostgresBodyLogStore(database);
                foreach (var chunk in bodies.Chunk(500)) await target.WriteAsync(chunk, ct).ConfigureAwait(false);
                output.WriteLine($"logged bodies: {bodies.Count}");
            }
        }
        var evaluationsFile = Path.Combine(data, SqliteEvaluationStore.DefaultFileName);
        if (File.Exists(evaluationsFile))
        {
            using var source = new SqliteEvaluationStore(evaluationsFile);
            var target = new PostgresEvaluationStore(database);
            var runs = await source.ListRunsAsync(ct).ConfigureAwait(false);
            var cells = 0;
            foreach (var run in runs)
            {
                await target.SaveRunAsync(run, ct).ConfigureAwait(false);
                foreach (var cell in await source.GetResultsAsync(run.RunId, ct).ConfigureAwait(false))
                {
                    await target.SaveResultAsync(run.RunId, cell, ct).ConfigureAwait(false);
                    cells++;
                }
            }
            output.WriteLine($"compare runs: {runs.Count}, cells: {cells}");
        }
    }

    private static async Task<long> CountAsync(PostgresDatabase database, string table, CancellationToken ct)
    {
        await using var cmd = database.DataSource.CreateCommand($"SELECT count(*) FROM {table}");
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
