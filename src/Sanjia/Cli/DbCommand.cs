using Sanjia.Abstractions;
using Sanjia.Core.Configuration;
using Sanjia.Core.Metering;
using Sanjia.Core.Traffic;
using Sanjia.Evaluation.Storage;
using Sanjia.Hosting;
using Sanjia.Storage.Postgres;
using Sanjia.Storage.Sqlite;

namespace Sanjia.Cli;

/// <summary>
/// <c>sanjia db copy [--data DIR] --to CONNECTION</c> (and <c>sanjia db delete</c>, below): moves a data folder's SQLite stores into PostgreSQL (migrating
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
               sanjia db delete (--key ID | --user ID) [--data DIR]
                                [--postgres CONNECTION]

        copy: copies the SQLite stores of a data folder (ledger, keys, teams,
        prompts, shadow pairs, logged bodies, compare runs) into the PostgreSQL
        database CONNECTION (Npgsql format: "Host=db;Database=sanjia;..."),
        creating its tables first. Stop the gateway first; then start it with
        --Sanjia:Storage:Postgres=CONNECTION. Running it again copies nothing
        twice. The SQLite files are only read.

        delete: deletes every ledger row and logged body of a revoked key
        (--key), or every logged body of an end user (--user: the "user" a
        caller sent), from the data folder's SQLite files or, with --postgres
        (default: $Sanjia__Storage__Postgres), from PostgreSQL.

        Options:
          --data DIR       The gateway's data folder (default: data).
          --to CONNECTION  copy: the PostgreSQL connection string.
          --key ID         delete: the key whose data goes (revoke it first).
          --user ID        delete: the end user whose logged bodies go.
          --postgres CONN  delete: the gateway's PostgreSQL database.
          -h, --help       Show this help.
        """;

    private static readonly string[] Subcommands = ["copy", "delete"];
    private static readonly string[] Options = ["--data", "--to", "--key", "--user", "--postgres", "--help"];

    /// <summary>Ledger rows per COPY batch: large enough to amortise the round trip, small enough to hold in memory.</summary>
    internal const int LedgerPage = 5000;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct) =>
        RunAsync(args, output, error, Environment.GetEnvironmentVariable, ct);

    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment, CancellationToken ct)
    {
        if (args.Any(a => a is "--help" or "-h" or "help"))
        {
            output.WriteLine(Usage);
            return SanjiaCli.Ok;
        }
        if (args.Length == 0 || !Subcommands.Contains(args[0]))
        {
            error.WriteLine(args.Length == 0
                ? "sanjia db: missing subcommand 'copy' or 'delete'."
                : $"sanjia db: unknown subcommand '{args[0]}'.{(Spelling.Closest(args[0], Subcommands) is { } s ? $" Did you mean '{s}'?" : "")}");
            error.WriteLine("Usage: sanjia db copy [--data DIR] --to CONNECTION");
            error.WriteLine("       sanjia db delete (--key ID | --user ID) [--data DIR] [--postgres CONNECTION]");
            return SanjiaCli.BadUsage;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case var name when Options.Contains(name) && name != "--help" && i + 1 < args.Length: values[name] = args[++i]; break;
                case var name when Options.Contains(name):
                    error.WriteLine($"sanjia db: '{name}' needs a value.");
                    return SanjiaCli.BadUsage;
                case var a when a.StartsWith('-'):
                    error.WriteLine($"sanjia db: unknown option '{a}'.{(Spelling.Closest(a, Options) is { } o ? $" Did you mean '{o}'?" : "")}");
                    return SanjiaCli.BadUsage;
                default:
                    error.WriteLine($"sanjia db: unexpected argument '{args[i]}'.");
                    return SanjiaCli.BadUsage;
            }
        }
        var data = values.GetValueOrDefault("--data", "data");
        string[] foreign = args[0] == "copy" ? ["--key", "--user", "--postgres"] : ["--to"];
        if (foreign.FirstOrDefault(values.ContainsKey) is { } misplaced)
        {
            error.WriteLine($"sanjia db {args[0]}: '{misplaced}' belongs to the other subcommand.");
            return SanjiaCli.BadUsage;
        }
        return args[0] == "copy"
            ? await CopyCommandAsync(data, values.GetValueOrDefault("--to"), output, error, ct).ConfigureAwait(false)
            : await DeleteCommandAsync(data, values.GetValueOrDefault("--key"), values.GetValueOrDefault("--user"),
                values.GetValueOrDefault("--postgres") ?? environment("Sanjia__Storage__Postgres"), output, error, ct).ConfigureAwait(false);
    }

    private static async Task<int> CopyCommandAsync(string data, string? to, TextWriter output, TextWriter error, CancellationToken ct)
    {
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

    /// <summary>
    /// <c>sanjia db delete</c>: the same deletion as <c>DELETE /admin/keys/{id}/data</c> and
    /// <c>DELETE /admin/end-users/{user}/data</c>, on the stores directly (the gateway may be stopped). A key that is
    /// not revoked is refused, as the route refuses it.
    /// </summary>
    private static async Task<int> DeleteCommandAsync(string data, string? key, string? user, string? postgres, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if ((key is null) == (user is null))
        {
            error.WriteLine("sanjia db delete: give one of --key ID or --user ID.");
            return SanjiaCli.BadUsage;
        }
        var subject = key is not null ? DataSubject.Key(key) : DataSubject.EndUser(user!);
        try
        {
            var disposables = new List<IDisposable>();
            PostgresDatabase? database = null;
            try
            {
                IKeyStore? keys;
                var stores = new List<IDeletableTraffic>();
                if (!string.IsNullOrWhiteSpace(postgres))
                {
                    database = await PostgresDatabase.OpenAsync(postgres, ct).ConfigureAwait(false);
                    keys = new PostgresKeyStore(database);
                    stores.Add(new PostgresLedgerStore(database));
                    stores.Add(new PostgresBodyLogStore(database));
                }
                else
                {
                    if (!Directory.Exists(data))
                    {
                        error.WriteLine($"The data folder '{data}' does not exist.");
                        return SanjiaCli.Failed;
                    }
                    // Only files that exist: opening a SQLite store would create an empty one.
                    keys = null;
                    var main = Path.Combine(data, StorageSetup.LedgerDatabase);
                    if (File.Exists(main))
                    {
                        var keyStore = new SqliteKeyStore(main);
                        var ledgerStore = new SqliteLedgerStore(main);
                        disposables.Add(keyStore);
                        disposables.Add(ledgerStore);
                        keys = keyStore;
                        stores.Add(ledgerStore);
                    }
                    var traffic = Path.Combine(data, CompareServices.TrafficDatabase);
                    if (File.Exists(traffic))
                    {
                        var bodies = new SqliteBodyLogStore(traffic);
                        disposables.Add(bodies);
                        stores.Add(bodies);
                    }
                }
                var known = key is not null && keys is not null ? await keys.GetKeyAsync(key, ct).ConfigureAwait(false) : null;
                if (key is not null && keys is not null && known is null)
                {
                    error.WriteLine($"sanjia db delete: there is no key '{key}' in this store (GET /admin/keys lists them).");
                    return SanjiaCli.Failed;
                }
                if (known is { RevokedAt: null })
                {
                    error.WriteLine($"sanjia db delete: the key '{key}' is active; revoke it first (DELETE /admin/keys/{key}), so none of its requests is recorded after its data is deleted.");
                    return SanjiaCli.Failed;
                }
                foreach (var store in stores)
                {
                    var n = await store.DeleteSubjectAsync(subject, ct).ConfigureAwait(false);
                    output.WriteLine($"{store.DataName}: {n} rows deleted");
                }
                return SanjiaCli.Ok;
            }
            finally
            {
                foreach (var d in disposables) d.Dispose();
                if (database is not null) await database.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"sanjia db delete: {ex.Message}");
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
